"""Benchmark terraform-provider-strata the way Terraform experiences it; print a markdown table.

Run it through `tests/bench/provider-bench` (which installs the tools first). It measures:

(a) exec → handshake line: how long Terraform waits for each provider process before it
    can send the first RPC. Terraform starts several provider processes per command, so
    this is paid many times. Measured by starting the release binary with the
    environment Terraform gives it (magic cookie, PLUGIN_PROTOCOL_VERSIONS=6, a client
    certificate like Terraform's) and timing until the first stdout line; then the
    process is killed. With mTLS (what Terraform uses) and plaintext (isolates the cost of
    generating the server certificate).
(b) GetProviderSchema round trip: measured in-process by `cargo bench` when the
    framework crate has a bench target (hook below); otherwise reported as not measured.
(c) peak RSS and CPU share of the provider during `terraform plan` of examples/network
    against moto: Terraform runs a tiny wrapper (via dev_overrides) that starts the real
    binary and collects its exact resource usage with wait4(2) when it exits, so nothing
    is sampled or missed. Measured for a plan of a new network and for the plan after
    apply, which refreshes every object.
(d) size of the release binary.

Progress goes to stderr; the report (markdown) to stdout, ready for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from strata_support import (  # noqa: E402
    LAUNCHER,
    PROVIDER_BINARY,
    REPO_ROOT,
    MotoServer,
    build_provider,
    terraform_env,
    write_cli_config,
)

# go-plugin's handshake cookie for Terraform providers (see docs/TFPLUGIN.md, "Launch").
MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
HANDSHAKE_TIMEOUT = 30.0
WARMUP_RUNS = 3
# Where the schema benchmark would live; see schema_round_trip().
SCHEMA_BENCH_CRATE = "strata-framework"
SCHEMA_BENCH_DIR = REPO_ROOT / "provider" / "framework" / "benches"


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# (a) exec → handshake line


def terraform_like_client_cert() -> str:
    """A PEM certificate shaped like the one Terraform puts in PLUGIN_CLIENT_CERT.

    go-plugin's generateCert: ECDSA P-521, self-signed, CA:TRUE, SAN localhost, client
    and server auth. The provider only pins it (and must accept its shape), and the
    benchmark never completes a TLS handshake, so the private key is thrown away.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP521R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA512())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def check_handshake_line(line: str, tls: bool) -> None:
    """Fail loudly if the first stdout line is not a go-plugin handshake Terraform accepts."""
    parts = line.rstrip("\n").split("|")
    if len(parts) != 6 or parts[0] != "1" or parts[1] != "6" or parts[4] != "grpc":
        raise SystemExit(f"not a protocol-6 handshake line: {line!r}")
    if parts[2] not in ("tcp", "unix"):
        raise SystemExit(f"unknown network {parts[2]!r} in handshake line: {line!r}")
    cert = parts[5]
    if tls:
        if not cert or cert.endswith("="):
            raise SystemExit(f"TLS handshake line needs an unpadded base64 certificate: {line!r}")
        base64.b64decode(cert + "=" * (-len(cert) % 4), validate=True)
    elif cert:
        raise SystemExit(f"plaintext handshake line carries a certificate: {line!r}")


def time_handshake(binary: Path, env: dict, tls: bool) -> float:
    """Seconds from exec to a complete first stdout line, for one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(binary)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            buffer = b""
            while not buffer.endswith(b"\n"):
                remaining = HANDSHAKE_TIMEOUT - (time.perf_counter() - start)
                if remaining <= 0 or not sel.select(timeout=remaining):
                    raise SystemExit(f"no handshake line within {HANDSHAKE_TIMEOUT}s")
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    raise SystemExit(
                        f"provider exited (code {proc.wait()}) before its handshake line"
                    )
                buffer += chunk
        elapsed = time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()
    check_handshake_line(buffer.split(b"\n", 1)[0].decode(), tls)
    return elapsed


@dataclass
class Timing:
    """Median and 90th percentile of a series of durations, in seconds."""

    median: float
    p90: float
    runs: int

    def __str__(self) -> str:
        return f"{self.median * 1e3:.2f} ms (p90 {self.p90 * 1e3:.2f} ms, {self.runs} runs)"


def handshake(binary: Path, runs: int, tls: bool) -> Timing:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        MAGIC_COOKIE_KEY: MAGIC_COOKIE,
        "PLUGIN_PROTOCOL_VERSIONS": "6",
        "PLUGIN_MIN_PORT": "10000",
        "PLUGIN_MAX_PORT": "25000",
    }
    if tls:
        env["PLUGIN_CLIENT_CERT"] = terraform_like_client_cert()
    for _ in range(WARMUP_RUNS):  # page cache, first-run costs
        time_handshake(binary, env, tls)
    samples = sorted(time_handshake(binary, env, tls) for _ in range(runs))
    return Timing(statistics.median(samples), samples[int(0.9 * (len(samples) - 1))], runs)


# ---------------------------------------------------------------------------------------
# (b) GetProviderSchema round trip


def schema_round_trip() -> str:
    """The GetProviderSchema median, from `cargo bench -p strata-framework` if it exists.

    TODO(bench): the framework crate is expected to grow a bench target (criterion or
    similar) that serves the provider over an in-process channel and times
    GetProviderSchema. Once `provider/framework/benches/*.rs` exists this runs it and
    picks the median from a criterion line whose benchmark name mentions "schema"; until
    then the row says it is not measured rather than guessing.
    """
    if not SCHEMA_BENCH_DIR.is_dir() or not any(SCHEMA_BENCH_DIR.glob("*.rs")):
        return f"not measured: no bench target in {SCHEMA_BENCH_DIR.relative_to(REPO_ROOT)} yet"
    log(f"cargo bench -p {SCHEMA_BENCH_CRATE} (output below)")
    proc = subprocess.run(
        ["cargo", "bench", "-p", SCHEMA_BENCH_CRATE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stderr.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        return f"cargo bench -p {SCHEMA_BENCH_CRATE} failed (exit {proc.returncode})"
    # criterion: "<name containing schema>   time:   [low median high]" (name may wrap).
    match = re.search(
        r"(?im)^[^\n]*schema[^\n]*\n?\s*time:\s*\[\S+ \S+ (\S+ \S+) \S+ \S+\]", proc.stdout
    )
    if match:
        return f"{match.group(1)} (cargo bench -p {SCHEMA_BENCH_CRATE})"
    return f"see `cargo bench -p {SCHEMA_BENCH_CRATE}` output"


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
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}"


def command_output(*cmd: str) -> str:
    try:
        return subprocess.run(
            cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--runs", type=int, default=50, help="handshake runs per variant (default 50)"
    )
    parser.add_argument(
        "--binary", type=Path, help="benchmark this binary instead of building the release profile"
    )
    parser.add_argument(
        "--skip-plan", action="store_true", help="skip (c), the terraform plan against moto"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    if args.binary:
        binary = args.binary.resolve()
        if not binary.is_file() or not os.access(binary, os.X_OK):
            parser.error(f"{args.binary} is not an executable file")
    else:
        log("cargo build --release -p terraform-provider-strata")
        binary = build_provider(release=True, show_progress=True)

    log(f"exec → handshake line, {args.runs} runs with mTLS and {args.runs} plaintext")
    tls = handshake(binary, args.runs, tls=True)
    plain = handshake(binary, args.runs, tls=False)
    schema = schema_round_trip()
    usage = None
    if not args.skip_plan:
        with tempfile.TemporaryDirectory(prefix="strata-bench-") as scratch:
            usage = plan_usage(binary, Path(scratch))
    size = binary.stat().st_size

    commit = command_output("git", "rev-parse", "--short", "HEAD") or "no commit"
    if command_output("git", "status", "--porcelain"):
        commit += " + uncommitted changes"
    invocation = " ".join(["tests/bench/provider-bench", *sys.argv[1:]])
    rows = [
        ("exec → handshake line, mTLS (what Terraform uses)", str(tls), "< 10 ms"),
        ("exec → handshake line, plaintext", str(plain), ""),
        ("GetProviderSchema round trip (median)", schema, "< 1 ms"),
    ]
    if usage:
        fresh, refresh = usage
        rows += [
            ("peak RSS, `terraform plan` of examples/network (new)", fresh.rss(), "< 40 MiB"),
            ("provider CPU, same plan", fresh.cpu(), ""),
            ("peak RSS, `terraform plan` after apply (refresh)", refresh.rss(), "< 40 MiB"),
            ("provider CPU, same plan", refresh.cpu(), ""),
        ]
    rows.append(("release binary size", f"{size / 1e6:.1f} MB ({size / 2**20:.1f} MiB)", "< 40 MB"))

    print(f"### terraform-provider-strata, {datetime.date.today().isoformat()}\n")
    print(f"- command: `{invocation}`")
    print(f"- binary: `{binary}`")
    print(f"- commit: {commit}")
    print(f"- machine: {machine()}")
    terraform_version = (command_output(str(LAUNCHER), "version").splitlines() or ["?"])[0]
    print(f"- toolchain: {command_output('rustc', '--version')}; {terraform_version}")
    print()
    print("| measure | result | goal |")
    print("|---|---|---|")
    for measure_name, result, goal in rows:
        print(f"| {measure_name} | {result} | {goal} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
