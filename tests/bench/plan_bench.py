"""Benchmark `terraform plan` of examples/multi-region against moto, next to its floor.

Run it through `tests/bench/plan-bench` (which installs the tools first). Issue 3 asks
for the wall time of that plan and the provider's peak RSS (one provider process serves
both regions) next to a bare script that makes the same describe calls: the floor. It:

1. starts moto and applies examples/multi-region once (not measured), then checks that
   a plan has no changes: every measured plan is the converged case, a refresh of every
   resource and nothing else;
2. records one plan's AWS requests with moto's request recorder, and turns them back
   into boto3 calls (operation, region, parameters) with botocore's service models;
   every one must be a read (Describe/Get/List);
3. runs, in turn so all see the same machine load: `terraform plan` with the provider
   binary itself (wall time); the same with `-refresh=false`, which makes no AWS call,
   so the difference of the two is what refreshing costs; and `plan_floor.py`, the bare
   boto3 script that makes the recorded calls one after another (wall time of the whole
   process: interpreter, `import boto3`, clients, calls; and of the calls alone);
4. records the floor's own requests once and checks they are the provider's, call for
   call (service, region, operation, parameters);
5. runs the plan a few more times with the provider behind the wait4(2) wrapper of
   `provider_bench.py` for its exact peak RSS and CPU time.

Progress goes to stderr; the report (markdown) to stdout, ready for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The wait4 wrapper and its bookkeeping are provider-bench's; shared, not copied.
from provider_bench import (  # noqa: E402
    WRAPPER,
    Usage,
    command_output,
    log,
    machine,
    measure,
    sha256,
)
from strata_support import (  # noqa: E402
    LAUNCHER,
    PROVIDER_BINARY,
    REPO_ROOT,
    MotoServer,
    build_provider,
    install_provider,
    terraform_env,
    venv_bin,
    write_cli_config,
)

EXAMPLE = REPO_ROOT / "examples" / "multi-region"
FLOOR_SCRIPT = Path(__file__).resolve().parent / "plan_floor.py"

# The goals of issue 3 ("Benchmark").
GOAL_RATIO = 2.0
GOAL_RSS_MIB = 40.0

READ_PREFIXES = ("Describe", "Get", "List")
# AWS4 credential scope in the Authorization header: …/DATE/REGION/SERVICE/aws4_request
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


# ---------------------------------------------------------------------------------------
# recorded requests → boto3 calls


@dataclass(frozen=True)
class Call:
    """One AWS request: enough to compare two recordings and to replay it with boto3."""

    service: str
    region: str
    operation: str
    wire: tuple  # canonical form of the request's parameters, for comparisons
    params: dict  # boto3 keyword arguments

    def replay(self) -> dict:
        return {
            "service": self.service,
            "region": self.region,
            "operation": self.operation,
            "params": self.params,
        }


class Decoder:
    """Turns requests recorded by moto back into operations, with botocore's models."""

    def __init__(self) -> None:
        import botocore.session

        self.session = botocore.session.get_session()
        self.models: dict[str, object] = {}

    def model(self, service: str):
        if service not in self.models:
            self.models[service] = self.session.get_service_model(service)
        return self.models[service]

    def decode(self, entry: dict) -> Call:
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        url = urllib.parse.urlsplit(entry["url"])
        scope = SCOPE.search(headers.get("authorization", ""))
        if not scope:
            raise SystemExit(f"unsigned request in the recording: {entry['method']} {url.geturl()}")
        region, service = scope.groups()
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode()
        model = self.model(service)
        protocol = model.metadata["protocol"]
        if protocol in ("ec2", "query"):
            flat = dict(urllib.parse.parse_qsl(body or url.query, keep_blank_values=True))
            operation = flat.pop("Action")
            flat.pop("Version", None)
            op_model = model.operation_model(operation)
            params = _from_query(op_model.input_shape, flat, "", protocol == "ec2") or {}
            wire = tuple(sorted(flat.items()))
        elif protocol == "rest-json":
            operation, params = _from_rest(model, entry["method"], url, body)
            query = tuple(sorted(urllib.parse.parse_qsl(url.query)))
            wire = (entry["method"], url.path, query, body)
        else:
            raise SystemExit(f"{service}: protocol {protocol} is not decoded by plan_bench.py")
        return Call(service, region, operation, wire, params)


def _query_name(shape, default: str, ec2: bool) -> str:
    """The name botocore's Query/EC2 serializer gives a member (see botocore.serialize)."""
    if ec2:
        if "queryName" in shape.serialization:
            return shape.serialization["queryName"]
        if "name" in shape.serialization:
            name = shape.serialization["name"]
            return name[0].upper() + name[1:]
        return default
    return shape.serialization.get("name", default)


def _from_query(shape, flat: dict, prefix: str, ec2: bool):
    """The inverse of botocore's Query/EC2 serializers, for the shapes describes use."""
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            key = _query_name(member, name, ec2)
            value = _from_query(member, flat, f"{prefix}.{key}" if prefix else key, ec2)
            if value is not None:
                out[name] = value
        return out or None
    if kind == "list":
        if ec2:
            base = prefix
        elif shape.serialization.get("flattened"):
            base = prefix
            if shape.member.serialization.get("name"):
                name = _query_name(shape.member, "", ec2)
                base = ".".join(prefix.split(".")[:-1] + [name])
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items = []
        while True:
            item = _from_query(shape.member, flat, f"{base}.{len(items) + 1}", ec2)
            if item is None:
                break
            items.append(item)
        return items or None
    if kind == "map":
        raise SystemExit(f"a map parameter ({prefix}) in a recorded read: not decoded")
    if prefix not in flat:
        return None
    raw = flat[prefix]
    if kind in ("integer", "long"):
        return int(raw)
    if kind == "boolean":
        return raw == "true"
    if kind in ("float", "double"):
        return float(raw)
    return raw


def _from_rest(model, method: str, url, body: str) -> tuple[str, dict]:
    """Find the REST operation by method and URI template; its parameters from path, query, body."""
    query = dict(urllib.parse.parse_qsl(url.query))
    for name in model.operation_names:
        op = model.operation_model(name)
        if op.http["method"] != method:
            continue
        template = op.http["requestUri"].split("?")[0]
        # re.escape turns `{name}` (or greedy `{name+}`) into `\{name\}`: a named group.
        pattern = re.sub(r"\\\{(\w+)(?:\\\+)?\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        match = re.fullmatch(pattern, url.path)  # raw: an ARN's `/` is still `%2F` here
        if not match:
            continue
        params: dict = {}
        shape = op.input_shape
        members = shape.members if shape else {}
        decoded_body = json.loads(body) if body else {}
        for member_name, member in members.items():
            location = member.serialization.get("location")
            wire_name = member.serialization.get("name", member_name)
            if location == "uri" and wire_name in match.groupdict():
                params[member_name] = urllib.parse.unquote(match.group(wire_name))
            elif location == "querystring" and wire_name in query:
                raw = query[wire_name]
                params[member_name] = int(raw) if member.type_name == "integer" else raw
            elif location is None and wire_name in decoded_body:
                params[member_name] = decoded_body[wire_name]
        return name, params
    raise SystemExit(f"no {model.service_name} operation matches {method} {url.path}")


# ---------------------------------------------------------------------------------------
# moto's request recorder


def recorder(moto: MotoServer, action: str) -> str:
    """POST/GET /moto-api/recorder/<action>; returns the answer's body."""
    method = "GET" if action == "download-recording" else "POST"
    request = urllib.request.Request(f"{moto.url}/moto-api/recorder/{action}", method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode()


def recorded_calls(moto: MotoServer, decoder: Decoder, run) -> list[Call]:
    """The AWS calls `run()` makes, in the order moto received them."""
    recorder(moto, "reset-recording")
    recorder(moto, "start-recording")
    try:
        run()
    finally:
        recorder(moto, "stop-recording")
    lines = recorder(moto, "download-recording").splitlines()
    return [decoder.decode(json.loads(line)) for line in lines if line.strip()]


# ---------------------------------------------------------------------------------------
# measuring


@dataclass
class Series:
    """A series of durations in seconds."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def __str__(self) -> str:
        low, high = min(self.samples), max(self.samples)
        return (
            f"{self.median * 1e3:.0f} ms (min {low * 1e3:.0f}, max {high * 1e3:.0f}, "
            f"{len(self.samples)} runs)"
        )


def run_terraform(env: dict, workdir: Path, args: list[str], ok=(0,)) -> float:
    """Run `terraform ARGS` in `workdir`; its wall time in seconds."""
    start = time.perf_counter()
    proc = subprocess.run(
        [str(LAUNCHER), *args], cwd=workdir, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(
            f"terraform {' '.join(args)} exited {proc.returncode} (expected {ok}):\n"
            f"{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
        )
    return elapsed


def terraform_output(env: dict, workdir: Path, args: list[str]) -> str:
    """stdout of `terraform ARGS` (which must succeed)."""
    proc = subprocess.run(
        [str(LAUNCHER), *args], cwd=workdir, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def run_floor(moto: MotoServer, calls_path: Path) -> tuple[float, dict]:
    """(wall time of the whole floor process, its own phase timings)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [str(venv_bin("python")), str(FLOOR_SCRIPT), moto.url, str(calls_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"plan_floor.py failed:\n{proc.stderr[-5000:]}")
    return elapsed, json.loads(proc.stdout)


def inventory(calls: list[Call]) -> list[tuple[str, str, str, int]]:
    """[(region, service, operation, count)] in a stable order, for the report."""
    counts = collections.Counter((c.region, c.service, c.operation) for c in calls)
    return [(*key, n) for key, n in sorted(counts.items())]


def differences(ours: list[Call], floor: list[Call]) -> list[str]:
    """Calls one side made and the other did not (as multisets)."""
    key = lambda c: (c.service, c.region, c.operation, c.wire)  # noqa: E731
    a, b = collections.Counter(map(key, ours)), collections.Counter(map(key, floor))
    only_ours = [f"provider only: {k[2]} in {k[1]} {k[3]}" for k in (a - b).elements()]
    only_floor = [f"floor only: {k[2]} in {k[1]} {k[3]}" for k in (b - a).elements()]
    return only_ours + only_floor


# ---------------------------------------------------------------------------------------
# report


def verdict(value: float | None, goal: float) -> str:
    if value is None:
        return "not measured"
    return "pass" if value <= goal else "**fail**"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--runs", type=int, default=7, help="timed plans, and floor runs (default 7, at least 5)"
    )
    parser.add_argument(
        "--rss-runs", type=int, default=3, help="plans under the wait4 wrapper (default 3)"
    )
    parser.add_argument(
        "--binary", type=Path, help="benchmark this binary instead of building the release profile"
    )
    args = parser.parse_args()
    if args.runs < 5 or args.rss_runs < 1:
        parser.error("--runs must be at least 5 and --rss-runs at least 1")
    if args.binary and (not args.binary.is_file() or not os.access(args.binary, os.X_OK)):
        parser.error(f"--binary {args.binary} is not an executable file")
    if args.binary:
        binary = args.binary.resolve()
    else:
        log("cargo build --release -p terraform-provider-strata")
        binary = build_provider(release=True, show_progress=True)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="strata-plan-bench-") as tmp:
        scratch = Path(tmp)
        # Terraform starts the binary itself for the timed plans, and the wait4 wrapper
        # (which adds a Python start-up to every launch) only for the RSS plans.
        direct_env = terraform_env(
            write_cli_config(scratch / "direct.tfrc", install_provider(binary, scratch / "direct"))
        )
        usage_log = scratch / "rusage.jsonl"
        wrapper_dir = scratch / "wrapped"
        wrapper_dir.mkdir()
        wrapper = wrapper_dir / PROVIDER_BINARY
        wrapper.write_text(
            WRAPPER.format(python=sys.executable, binary=str(binary), log=str(usage_log))
        )
        wrapper.chmod(0o755)
        wrapped_env = terraform_env(write_cli_config(scratch / "wrapped.tfrc", wrapper_dir))

        # The repository's layout, so that the example finds ../../modules.
        shutil.copytree(
            REPO_ROOT / "modules", scratch / "modules", ignore=shutil.ignore_patterns(".terraform*")
        )
        workdir = scratch / "examples" / "multi-region"
        workdir.mkdir(parents=True)
        for path in EXAMPLE.glob("*.tf"):
            shutil.copy(path, workdir / path.name)

        # moto's recorder writes where MOTO_RECORDER_FILEPATH says (else ./moto_recording).
        os.environ["MOTO_RECORDER_FILEPATH"] = str(scratch / "moto-recording.jsonl")
        with MotoServer(scratch / "moto.log") as moto:
            var = f"-var=aws_endpoint={moto.url}"
            plan = ["plan", "-input=false", "-no-color", "-detailed-exitcode", var]
            log("terraform init and apply of examples/multi-region (not measured)")
            run_terraform(direct_env, workdir, ["init", "-input=false", "-no-color"])
            apply_s = run_terraform(
                direct_env, workdir, ["apply", "-input=false", "-no-color", "-auto-approve", var]
            )
            log("a plan after apply must have no changes")
            run_terraform(direct_env, workdir, plan)

            log("recording the AWS calls of one plan")
            decoder = Decoder()
            ours = recorded_calls(
                moto, decoder, lambda: run_terraform(direct_env, workdir, plan)
            )
            writes = [c for c in ours if not c.operation.startswith(READ_PREFIXES)]
            if writes:
                raise SystemExit(f"the plan made calls that are not reads: {writes}")
            calls_path = scratch / "calls.json"
            calls_path.write_text(json.dumps([c.replay() for c in ours], indent=1))

            log("the floor's calls must be the provider's")
            floor_calls = recorded_calls(moto, decoder, lambda: run_floor(moto, calls_path))
            mismatch = differences(ours, floor_calls)

            resources = len(terraform_output(direct_env, workdir, ["state", "list"]).split())

            log(f"{args.runs} timed plans, plans without refresh and floor runs, alternating")
            run_floor(moto, calls_path)  # warm-up: page cache, .pyc files
            plans, bare_plans, floors, floor_calls_s = [], [], [], []
            for i in range(args.runs):
                plans.append(run_terraform(direct_env, workdir, plan))
                bare_plans.append(run_terraform(direct_env, workdir, plan + ["-refresh=false"]))
                wall, phases = run_floor(moto, calls_path)
                floors.append(wall)
                floor_calls_s.append(phases["calls_s"])
                log(
                    f"  run {i + 1}: plan {plans[-1]:.2f} s, plan -refresh=false "
                    f"{bare_plans[-1]:.2f} s, floor {wall:.2f} s (calls {phases['calls_s']:.2f} s)"
                )

            log(f"{args.rss_runs} plans under the wait4 wrapper")
            usages: list[Usage] = []
            for _ in range(args.rss_runs):
                usages.append(measure(wrapped_env, workdir, usage_log, plan))
            # measure() empties the log first: these are the last plan's processes.
            records = [json.loads(x) for x in usage_log.read_text().splitlines() if x]

            log("terraform destroy (not measured)")
            run_terraform(
                direct_env, workdir, ["destroy", "-input=false", "-no-color", "-auto-approve", var]
            )

    load_after = os.getloadavg()
    plan_series, bare_series = Series(plans), Series(bare_plans)
    floor_series, calls_series = Series(floors), Series(floor_calls_s)
    setup_series = Series([w - c for w, c in zip(floors, floor_calls_s)])
    refresh_s = plan_series.median - bare_series.median
    ratio = plan_series.median / floor_series.median
    refresh_ratio = refresh_s / calls_series.median
    peak = max(u.peak_rss_kib for u in usages)
    rss_mib = peak / 1024
    processes = sorted({u.processes for u in usages})
    last = usages[-1]
    regions = sorted({c.region for c in ours})

    commit = command_output("git", "rev-parse", "--short", "HEAD") or "no commit"
    if command_output("git", "status", "--porcelain"):
        commit += " + uncommitted changes"
    invocation = " ".join(["tests/bench/plan-bench", *sys.argv[1:]])
    terraform_version = (command_output(str(LAUNCHER), "version").splitlines() or ["?"])[0]
    moto_version = command_output(
        str(venv_bin("python")), "-c", "import moto; print(moto.__version__)"
    )

    print(f"### `terraform plan` of examples/multi-region, {datetime.date.today().isoformat()}\n")
    print(f"- command: `{invocation}`")
    print(f"- provider: `{binary}` (sha256 {sha256(binary)[:16]}…)")
    print(f"- commit: {commit}")
    print(f"- machine: {machine()}")
    print(
        "- load average (1/5/15 min) before and after: "
        + " → ".join("/".join(f"{x:.1f}" for x in load) for load in (load_before, load_after))
    )
    rustc = command_output("rustc", "--version")
    print(f"- toolchain: {rustc}; {terraform_version}; moto {moto_version}")
    print(
        f"- set-up: one apply of the example ({apply_s:.1f} s, not measured); every measured "
        f"plan refreshes the {resources} resources of the converged configuration and finds "
        "no changes"
    )
    print()
    print("#### Goals (issue 3)\n")
    print("| measure | goal | result | verdict |")
    print("|---|---|---|---|")
    print(
        f"| `terraform plan` / floor, whole processes (medians) | ≤ {GOAL_RATIO:g}× | "
        f"{ratio:.2f}× ({plan_series.median:.2f} s / {floor_series.median:.2f} s) | "
        f"{verdict(ratio, GOAL_RATIO)} |"
    )
    print(
        f"| refresh share of the plan / the floor's calls alone | ≤ {GOAL_RATIO:g}× | "
        f"{refresh_ratio:.2f}× ({refresh_s * 1e3:.0f} ms / {calls_series.median * 1e3:.0f} ms) | "
        f"{verdict(refresh_ratio, GOAL_RATIO)} |"
    )
    print(
        f"| provider peak RSS during the plan | ≤ {GOAL_RSS_MIB:g} MiB | {rss_mib:.1f} MiB | "
        f"{verdict(rss_mib, GOAL_RSS_MIB)} |"
    )
    print()
    print("#### Figures\n")
    print("| measure | result |")
    print("|---|---|")
    print(f"| `terraform plan` wall time | {plan_series} |")
    print(f"| `terraform plan -refresh=false` wall time (no AWS calls) | {bare_series} |")
    print(
        f"| refresh share: the difference of the medians | {refresh_s * 1e3:.0f} ms "
        "(Terraform refreshes independent resources concurrently; the floor does not) |"
    )
    print(f"| floor: `plan_floor.py` process wall time | {floor_series} |")
    print(f"| floor: of which interpreter, `import boto3`, clients | {setup_series} |")
    print(f"| floor: of which the calls alone | {calls_series} |")
    print(
        f"| AWS calls per plan | {len(ours)} in {', '.join(regions)} "
        f"(floor: {len(floor_calls)}, "
        + ("identical requests" if not mismatch else f"**{len(mismatch)} differ**")
        + ") |"
    )
    print(
        f"| provider processes per plan | {', '.join(map(str, processes))} "
        "(Terraform starts several; each serves every region) |"
    )
    print(f"| provider peak RSS, max over {len(usages)} plans | {rss_mib:.1f} MiB |")
    print(f"| provider CPU, last plan | {last.cpu()} |")
    lifetimes = ", ".join(f"{r['wall_s']:.2f} s" for r in records)
    print(f"| provider process lifetimes, last plan | {lifetimes} |")
    print()
    print("#### The calls of one plan (the floor makes the same, in the same order)\n")
    print("| region | service | operation | calls |")
    print("|---|---|---|---|")
    for region, service, operation, n in inventory(ours):
        print(f"| {region} | {service} | {operation} | {n} |")
    if mismatch:
        print("\nRequests that differ between the provider and the floor:\n")
        for line in mismatch[:40]:
            print(f"- `{line}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
