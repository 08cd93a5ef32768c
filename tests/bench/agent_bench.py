"""Benchmark `strata-agent run` reconciling examples/config-repo against kubectl.

Everything runs against the Kubernetes API stand-in (tests/kube-standin, with its
simulated controllers) and a real git remote on disk (a bare repository and a clone to
push from), the way agent/strata/tests/run.rs drives the agent:

- cold pass: a fresh stand-in (the agent's namespace and the monitoring CRDs only) and an
  empty git cache; `strata-agent run … --once` as a whole process: wall time and exact
  peak RSS by wait4(2), the pass's own duration from its log line (`duration_ms=`).
- no-change pass: one long-running agent (`--interval 1h`), converged; each pass is
  triggered by a signed push webhook and its `lastPass.durationMs` read from /status.
- push-to-applied: commit and push a setting change (the Redis maxmemory policy), POST
  the signed webhook, poll /status every 5 ms until `lastApplied.revision` is the commit.
- RSS: VmRSS (idle) and VmHWM (peak) of that agent from /proc/<pid>/status.
- peer, same stand-in binary, same run, alternated with the agent: kubectl (the version
  matching the stand-in's Kubernetes 1.33 when there is one) given the objects
  `strata-agent render` prints for the same commit: `kubectl apply --server-side` on a
  fresh stand-in (cold) and `kubectl diff --server-side` on the converged one (dry-run
  apply and GET of every object, then compare: the no-change pass). Wall time and peak
  RSS by wait4(2).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from provider_bench import machine  # noqa: E402
from strata_support import REPO_ROOT, cargo_target_dir  # noqa: E402

CLUSTER = "us-west-2"
NAMESPACE = "strata-system"
EXAMPLE = REPO_ROOT / "examples" / "config-repo"
SECRET = "agent-bench-webhook-secret"
PAYLOAD = b'{"ref":"refs/heads/main"}'
LISTENING = "strata-agent: status API listening on "
# The peer's field manager: kubectl's own default for server-side apply. Not the agent's
# name: the agent owns one more annotation than the render prints (strata.dev/applied-digest),
# which an apply under its name without it would remove.
FIELD_MANAGER = "kubectl"
GOAL_NO_CHANGE_MS = 100.0
GOAL_PUSH_S = 1.0
GOAL_IDLE_MIB = 20.0

# No proxy for loopback, whatever the environment says.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BenchError(RuntimeError):
    """Something did not work; the benchmark stops with a non-zero exit."""


def log(message: str) -> None:
    print(f"[agent-bench] {message}", file=sys.stderr, flush=True)


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def median(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def spread(values: list[float], unit: str = "ms", scale: float = 1.0, digits: int = 0) -> str:
    return f"{min(values) * scale:.{digits}f}–{max(values) * scale:.{digits}f} {unit}"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def run_process(cmd: list[str], env: dict | None = None) -> dict:
    """Runs cmd to the end: wall seconds, peak RSS (KiB, wait4), exit code, output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "wall": wall,
            "rss": usage.ru_maxrss,
            "code": proc.returncode,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


# --- the world: git remote and clone ----------------------------------------------------


class Repo:
    """A bare remote holding examples/config-repo on `main`, and a clone to push from."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.remote = root / "config.git"
        self.work = root / "work"
        self.env = dict(os.environ)
        self.env.update(
            {
                "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": str(root),
                "GIT_AUTHOR_NAME": "Strata Bench",
                "GIT_AUTHOR_EMAIL": "bench@strata.invalid",
                "GIT_COMMITTER_NAME": "Strata Bench",
                "GIT_COMMITTER_EMAIL": "bench@strata.invalid",
            }
        )
        self.git(root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        shutil.copytree(EXAMPLE, self.work)
        self.git(self.work, "init", "-q", "-b", "main")
        self.git(self.work, "add", "-A")
        self.git(self.work, "commit", "-q", "-m", "the example platform")
        self.git(self.work, "remote", "add", "origin", str(self.remote))
        self.git(self.work, "push", "-q", "origin", "main")

    def git(self, cwd: Path, *args: str) -> str:
        out = subprocess.run(["git", *args], cwd=cwd, env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise BenchError(f"git {' '.join(args)}: {out.stderr}")
        return out.stdout

    @property
    def url(self) -> str:
        return f"file://{self.remote}"

    def head(self) -> str:
        return self.git(self.work, "rev-parse", "HEAD").strip()

    def toggle_eviction(self) -> tuple[str, float]:
        """Flips the Redis Cluster's maxmemory policy, commits and pushes: (commit, push s)."""
        path = self.work / "tiers" / "redis.yaml"
        text = path.read_text()
        if "policy: allkeys-lru" in text:
            changed = text.replace("policy: allkeys-lru", "policy: volatile-lru", 1)
        elif "policy: volatile-lru" in text:
            changed = text.replace("policy: volatile-lru", "policy: allkeys-lru", 1)
        else:
            raise BenchError("tiers/redis.yaml sets no maxmemory policy to toggle")
        path.write_text(changed)
        start = time.perf_counter()
        self.git(self.work, "commit", "-q", "-am", "redis: toggle the eviction policy")
        self.git(self.work, "push", "-q", "origin", "main")
        return self.head(), time.perf_counter() - start


# --- the cluster: the API stand-in -------------------------------------------------------


def crd(plural: str, kind: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


class StandIn:
    """`kube-standin --controllers` on a loopback port, with the agent's namespace and the
    Prometheus operator's CRDs, as agent/strata/tests/support/mod.rs sets it up."""

    count = 0

    def __init__(self, binary: Path, workdir: Path, request_log: Path | None = None):
        """With `request_log`, the stand-in logs every request it serves into that file."""
        StandIn.count += 1
        self.kubeconfig = workdir / f"kubeconfig-{StandIn.count}"
        self.request_log = request_log
        env = dict(os.environ)
        env.pop("RUST_LOG", None)
        if request_log:
            env["RUST_LOG"] = "kube_standin::server=debug"
        with open(request_log or os.devnull, "wb") as stderr:
            self.proc = subprocess.Popen(
                [str(binary), "--listen", "127.0.0.1:0", "--controllers", "--kubeconfig", str(self.kubeconfig)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                text=True,
            )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.stop()
            raise BenchError(f"kube-standin did not start: {line!r}")
        self.url = line.split()[-1]
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        self.create("/api/v1/namespaces", namespace)
        for plural, kind in [("servicemonitors", "ServiceMonitor"), ("prometheusrules", "PrometheusRule")]:
            self.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd(plural, kind))

    def create(self, path: str, obj: dict) -> None:
        code, body = http("POST", self.url + path, json.dumps(obj).encode(), {"Content-Type": "application/json"})
        if code != 201:
            raise BenchError(f"POST {path}: {code} {body[:500]!r}")

    def requests(self) -> list[str]:
        """The method of every request served so far (needs `request_log`)."""
        time.sleep(0.02)  # a request is logged as its response goes out
        text = self.request_log.read_text(errors="replace")
        return re.findall(r" request method=(\w+) ", text)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- the agent ---------------------------------------------------------------------------


class Agent:
    """A `strata-agent run` process, its stderr collected, its status API found."""

    def __init__(self, binary: Path, repo: Repo, standin: StandIn, cache: Path, extra: list[str]):
        args = [
            str(binary), "run", repo.url, "--ref", "main", "--cluster", CLUSTER,
            "--kubeconfig", str(standin.kubeconfig), "--namespace", NAMESPACE,
            "--listen", "127.0.0.1:0", "--cache-dir", str(cache), "--no-leader-election", *extra,
        ]  # fmt: skip
        env = dict(os.environ, RUST_LOG="info")
        self.lines: list[str] = []
        self.url = ""
        self._listening = threading.Event()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            self.lines.append(line)
            if line.startswith(LISTENING):
                self.url = line[len(LISTENING):].strip().rstrip("/")
                self._listening.set()

    def log(self) -> str:
        return "\n".join(self.lines[-40:])

    def wait_listening(self) -> None:
        if not self._listening.wait(20):
            self.kill()
            raise BenchError(f"the agent did not start:\n{self.log()}")

    def status(self) -> dict:
        code, body = http("GET", self.url + "/status")
        if code != 200:
            raise BenchError(f"GET /status: {code} {body[:300]!r}")
        return json.loads(body)

    def wait_for(self, what: str, done, limit: float = 60.0, every: float = 0.005) -> tuple[dict, float]:
        start = time.perf_counter()
        while True:
            status = self.status()
            if done(status):
                return status, time.perf_counter() - start
            if self.proc.poll() is not None:
                raise BenchError(f"the agent exited ({self.proc.returncode}) waiting for {what}:\n{self.log()}")
            if time.perf_counter() - start > limit:
                raise BenchError(
                    f"timed out after {limit:.0f} s waiting for {what}\n{json.dumps(status, indent=1)[:3000]}\n{self.log()}"
                )
            time.sleep(every)

    def webhook(self) -> None:
        signature = "sha256=" + hmac.new(SECRET.encode(), PAYLOAD, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-Hub-Signature-256": signature}
        code, body = http("POST", self.url + "/hooks/git", PAYLOAD, headers)
        if not 200 <= code < 300:
            raise BenchError(f"POST /hooks/git: {code} {body[:300]!r}")

    def memory(self) -> dict:
        """VmRSS and VmHWM in KiB."""
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                fields[name] = int(value.split()[0])
        return fields

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def pass_id(status: dict) -> tuple:
    last = status.get("lastPass") or {}
    return (last.get("started"), last.get("revision"), last.get("durationMs"))


def steps_of(status: dict) -> dict[str, int]:
    return {s["name"]: s["durationMs"] for s in status["lastPass"]["steps"]}


def check_pass(status: dict, what: str) -> None:
    last = status["lastPass"]
    failed = last["objects"]["failed"]
    bad = [s for s in last["steps"] if s["outcome"] in ("stalled", "transient")]
    if failed or bad:
        raise BenchError(f"{what}: {failed} objects failed, steps {bad}\n{json.dumps(status, indent=1)[:3000]}")


# --- the measurements --------------------------------------------------------------------


def cold_agent(binary: Path, standin_bin: Path, repo: Repo, tmp: Path, expected: int) -> dict:
    standin = StandIn(standin_bin, tmp)
    cache = tmp / "cold-cache"
    shutil.rmtree(cache, ignore_errors=True)
    try:
        cmd = [
            str(binary), "run", repo.url, "--ref", "main", "--cluster", CLUSTER,
            "--kubeconfig", str(standin.kubeconfig), "--namespace", NAMESPACE,
            "--listen", "127.0.0.1:0", "--cache-dir", str(cache), "--no-leader-election", "--once",
        ]  # fmt: skip
        out = run_process(cmd, dict(os.environ, RUST_LOG="info"))
        # --once: 0 when the pass ended ready, 1 otherwise (still waiting is normal here).
        line = next((l for l in out["stderr"].splitlines() if " pass: " in l), "")
        numbers = dict(re.findall(r"(duration_ms|applied|failed)=(\d+)", line))
        if out["code"] not in (0, 1) or not numbers or int(numbers["failed"]) or int(numbers["applied"]) != expected:
            raise BenchError(f"cold `strata-agent run --once` (exit {out['code']}):\n{out['stderr'][-3000:]}")
        outcome = re.search(r"outcome=(\w+)", line)
        return {
            "wall": out["wall"],
            "pass": int(numbers["duration_ms"]) / 1000,
            "rss": out["rss"],
            "outcome": outcome.group(1) if outcome else "?",
            "steps": line.split(" pass: ", 1)[1].split(" revision=")[0],
        }
    finally:
        standin.stop()
        shutil.rmtree(cache, ignore_errors=True)


def kubectl_env(standin: StandIn, tmp: Path) -> dict:
    return dict(os.environ, KUBECONFIG=str(standin.kubeconfig), KUBECACHEDIR=str(tmp / "kubecache"))


def cold_peer(kubectl: Path, standin_bin: Path, rendered: Path, tmp: Path, expected: int) -> dict:
    standin = StandIn(standin_bin, tmp)
    try:
        cmd = [str(kubectl), "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--validate=false", "-f", str(rendered)]
        out = run_process(cmd, kubectl_env(standin, tmp))
        applied = sum(1 for line in out["stdout"].splitlines() if line.endswith("serverside-applied"))
        if out["code"] != 0 or applied != expected:
            raise BenchError(f"kubectl apply --server-side (exit {out['code']}, {applied} applied):\n{out['stderr'][-3000:]}")
        return {"wall": out["wall"], "rss": out["rss"]}
    finally:
        standin.stop()


def render(binary: Path, repo: Repo, dest: Path) -> dict:
    out = run_process([str(binary), "render", str(repo.work), "--ref", "main", "--cluster", CLUSTER])
    if out["code"] != 0:
        raise BenchError(f"strata-agent render:\n{out['stderr']}")
    dest.write_text(out["stdout"])
    out["objects"] = sum(1 for line in out["stdout"].splitlines() if line.startswith("kind: "))
    return out


def find_kubectl(given: str | None) -> Path:
    if given:
        path = Path(given)
        if not os.access(path, os.X_OK):
            raise BenchError(f"--kubectl {given} is not executable")
        return path
    found = shutil.which("kubectl")
    if not found:
        raise BenchError("kubectl not found on PATH (the peer); name one with --kubectl")
    real = Path(found).resolve()
    # Google Cloud SDK's kubectl is a dispatcher with one binary per minor version next to
    # it; take the one matching the stand-in (Kubernetes 1.33) and skip the dispatch.
    matching = real.parent / "kubectl.1.33"
    return matching if os.access(matching, os.X_OK) else real


def kubectl_version(kubectl: Path) -> str:
    out = subprocess.run([str(kubectl), "version", "--client", "-o", "json"], capture_output=True, text=True)
    try:
        return json.loads(out.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        return "?"


def loadavg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=7, help="cold passes of each side (default 7)")
    parser.add_argument("--passes", type=int, default=25, help="no-change passes of each side (default 25)")
    parser.add_argument("--pushes", type=int, default=12, help="push-to-applied rounds (default 12)")
    parser.add_argument("--binary", type=Path, help="a built strata-agent (default: cargo build --release)")
    parser.add_argument("--standin", type=Path, help="a built kube-standin (default: cargo build --release)")
    parser.add_argument("--kubectl", help="the peer's kubectl (default: kubectl on PATH, its 1.33 build if it is a dispatcher)")
    args = parser.parse_args()

    if args.binary is None or args.standin is None:
        log("cargo build --release -p strata-agent -p kube-standin")
        subprocess.run(["cargo", "build", "--release", "-p", "strata-agent", "-p", "kube-standin"], cwd=REPO_ROOT, check=True)
    target = cargo_target_dir() / "release"
    binary = args.binary or target / "strata-agent"
    standin_bin = args.standin or target / "kube-standin"
    kubectl = find_kubectl(args.kubectl)
    load_before = loadavg()

    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmpname:
        tmp = Path(tmpname)
        # Private copies: others may rebuild target/ while this runs.
        (tmp / "bin").mkdir()
        binary = Path(shutil.copy2(binary, tmp / "bin" / "strata-agent"))
        standin_bin = Path(shutil.copy2(standin_bin, tmp / "bin" / "kube-standin"))
        repo = Repo(tmp / "git")
        secret_file = tmp / "webhook-secret"
        secret_file.write_text(SECRET + "\n")
        rendered = tmp / "rendered.yaml"

        # 1. cold passes, alternating agent and peer, each on a fresh stand-in.
        first = render(binary, repo, rendered)
        expected = first["objects"]
        log(f"{expected} objects rendered for {CLUSTER} at {repo.head()[:12]}; peer: {kubectl}")
        cold_a, cold_p, renders = [], [], []
        cold_agent(binary, standin_bin, repo, tmp, expected)  # warm-ups: page cache
        cold_peer(kubectl, standin_bin, rendered, tmp, expected)
        for i in range(args.cold_runs):
            cold_a.append(cold_agent(binary, standin_bin, repo, tmp, expected))
            renders.append(render(binary, repo, rendered))
            cold_p.append(cold_peer(kubectl, standin_bin, rendered, tmp, expected))
            log(
                f"cold {i + 1}/{args.cold_runs}: agent pass {cold_a[-1]['pass'] * 1000:.0f} ms, "
                f"process {cold_a[-1]['wall'] * 1000:.0f} ms, {mib(cold_a[-1]['rss'])}; "
                f"render {renders[-1]['wall'] * 1000:.0f} ms; kubectl apply {cold_p[-1]['wall'] * 1000:.0f} ms, {mib(cold_p[-1]['rss'])}"
            )

        # 2.–4. one long-running agent on a fresh stand-in.
        standin = StandIn(standin_bin, tmp, request_log=tmp / "standin-requests.log")
        agent = Agent(binary, repo, standin, tmp / "cache", ["--interval", "1h", "--webhook-secret-file", str(secret_file)])
        try:
            agent.wait_listening()
            head = repo.head()
            startup, _ = agent.wait_for(
                "the first pass",
                lambda s: (s.get("lastApplied") or {}).get("revision") == head
                and (s.get("lastPass") or {}).get("revision") == head,
            )
            check_pass(startup, "the startup pass")
            startup_steps = steps_of(startup)
            startup_outcome = startup["lastPass"]["outcome"]
            operate_message = next((s["message"] for s in startup["lastPass"]["steps"] if s["name"] == "operate"), "")
            time.sleep(1.0)
            converged_mem = agent.memory()
            log(f"converged: startup pass {startup['lastPass']['durationMs']} ms {startup_steps}, {mib(converged_mem['VmRSS'])} RSS")

            peer_env = kubectl_env(standin, tmp)
            diff_cmd = [str(kubectl), "diff", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", str(rendered)]
            warm = run_process(diff_cmd, peer_env)  # warm-up, fills kubectl's discovery cache
            if warm["code"] != 0:
                raise BenchError(f"kubectl diff finds the converged cluster different (exit {warm['code']}):\n{warm['stdout'][-3000:]}{warm['stderr'][-2000:]}")

            nochange, nochange_steps, nochange_objects, peer_diff = [], [], [], []
            agent_requests, peer_requests = [], []
            for i in range(args.passes):
                mark = len(standin.requests())
                before = pass_id(agent.status())
                agent.webhook()
                status, _ = agent.wait_for(
                    "a webhook pass",
                    lambda s: pass_id(s) != before and s["lastPass"]["trigger"] == "webhook",
                )
                check_pass(status, "a no-change pass")
                nochange.append(status["lastPass"]["durationMs"] / 1000)
                nochange_steps.append(steps_of(status))
                nochange_objects.append(status["lastPass"]["objects"])
                served = standin.requests()
                agent_requests.append(served[mark:])
                mark = len(served)
                out = run_process(diff_cmd, peer_env)
                if out["code"] != 0:
                    raise BenchError(f"kubectl diff (exit {out['code']}):\n{out['stdout'][-3000:]}{out['stderr'][-2000:]}")
                peer_diff.append(out)
                peer_requests.append(standin.requests()[mark:])
                time.sleep(0.05)
            log(
                f"no-change: agent median {median(nochange) * 1000:.1f} ms, "
                f"kubectl diff median {median([d['wall'] for d in peer_diff]) * 1000:.0f} ms"
            )
            time.sleep(2.0)
            idle_mem = agent.memory()

            pushes, push_steps, push_passes, push_git, push_triggers, push_applied = [], [], [], [], [], []
            for i in range(args.pushes):
                commit, push_s = repo.toggle_eviction()
                push_git.append(push_s)
                start = time.perf_counter()
                agent.webhook()
                status, _ = agent.wait_for(
                    f"commit {commit[:12]} applied",
                    lambda s: (s.get("lastApplied") or {}).get("revision") == commit
                    and (s.get("lastPass") or {}).get("revision") == commit,
                    limit=30,
                )
                pushes.append(time.perf_counter() - start)
                check_pass(status, "a push pass")
                push_passes.append(status["lastPass"]["durationMs"] / 1000)
                push_steps.append(steps_of(status))
                push_triggers.append(status["lastPass"]["trigger"])
                push_applied.append(status["lastPass"]["objects"])
                log(f"push {i + 1}/{args.pushes}: applied {pushes[-1] * 1000:.0f} ms after the webhook")
                time.sleep(0.3)
            time.sleep(2.0)
            final_mem = agent.memory()
        finally:
            code = agent.stop()
            standin.stop()
        if code not in (0, 1):
            raise BenchError(f"the agent exited {code} on SIGTERM:\n{agent.log()}")

    load_after = loadavg()
    report(
        args=args, expected=expected, kubectl=kubectl, cold_a=cold_a, cold_p=cold_p, renders=renders,
        startup=startup, startup_steps=startup_steps, startup_outcome=startup_outcome, operate_message=operate_message,
        converged_mem=converged_mem, nochange=nochange, nochange_steps=nochange_steps, nochange_objects=nochange_objects,
        peer_diff=peer_diff, agent_requests=agent_requests, peer_requests=peer_requests, idle_mem=idle_mem, pushes=pushes, push_steps=push_steps, push_passes=push_passes,
        push_git=push_git, push_triggers=push_triggers, push_applied=push_applied, final_mem=final_mem,
        load=(load_before, load_after), binary_size=os.path.getsize(target / "strata-agent") if (target / "strata-agent").exists() else 0,
    )  # fmt: skip
    return 0


def requests_summary(rounds: list[list[str]]) -> str:
    """The methods of the median round, e.g. `61 GET + 61 PATCH`."""
    ordered = sorted(rounds, key=len)
    chosen = ordered[(len(ordered) - 1) // 2]
    counts = {m: chosen.count(m) for m in sorted(set(chosen))}
    return " + ".join(f"{n} {m}" for m, n in counts.items()) or "none"


def verdict(ok: bool) -> str:
    return "pass" if ok else "**missed**"


def report(**r) -> None:
    args = r["args"]
    ms = 1000.0
    cold_pass = [c["pass"] for c in r["cold_a"]]
    cold_wall = [c["wall"] for c in r["cold_a"]]
    cold_rss = [c["rss"] for c in r["cold_a"]]
    peer_cold = [c["wall"] for c in r["cold_p"]]
    peer_cold_rss = [c["rss"] for c in r["cold_p"]]
    render_wall = [x["wall"] for x in r["renders"]]
    peer_total = [a + b for a, b in zip(render_wall, peer_cold)]
    nochange = r["nochange"]
    diff_wall = [d["wall"] for d in r["peer_diff"]]
    diff_rss = [d["rss"] for d in r["peer_diff"]]
    pushes = r["pushes"]
    idle, final, converged = r["idle_mem"], r["final_mem"], r["converged_mem"]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    print(f"### strata-agent run of examples/config-repo against kubectl, {now}\n")
    print(f"- command: `tests/bench/agent-bench --cold-runs {args.cold_runs} --passes {args.passes} --pushes {args.pushes}`")
    print(f"- work: examples/config-repo, cluster `{CLUSTER}`: {r['expected']} objects; git remote over file://; "
          "kube-standin with `--controllers`, the agent's namespace and the two monitoring CRDs")  # fmt: skip
    print(f"- peer: `{r['kubectl']}` ({kubectl_version(r['kubectl'])}) with the objects of `strata-agent render` for the same commit, "
          f"`--field-manager={FIELD_MANAGER}`")  # fmt: skip
    print(f"- machine: {machine()}; load average (1/5/15 min) before → after: {r['load'][0]} → {r['load'][1]}")
    print(f"- agent binary: {r['binary_size'] / 1e6:.1f} MB (release)\n")

    print("| goal (issue 4) | goal | result | verdict |")
    print("|---|---|---|---|")
    print(f"| no-change pass, median (`lastPass.durationMs`, {len(nochange)} passes) | < 100 ms | "
          f"{median(nochange) * ms:.0f} ms (p90 {p90(nochange) * ms:.0f} ms) | {verdict(median(nochange) * ms < GOAL_NO_CHANGE_MS)} |")  # fmt: skip
    print(f"| push → applied through the webhook, median ({len(pushes)} pushes) | < 1 s | "
          f"{median(pushes) * ms:.0f} ms (p90 {p90(pushes) * ms:.0f} ms) | {verdict(median(pushes) < GOAL_PUSH_S)} |")  # fmt: skip
    print(f"| idle RSS after convergence (VmRSS) | < 20 MiB | {mib(idle['VmRSS'])} | {verdict(idle['VmRSS'] / 1024 < GOAL_IDLE_MIB)} |\n")

    print("| measure | strata-agent | kubectl | agent / kubectl |")
    print("|---|---|---|---|")

    def row(name: str, ours: list[float], peer: list[float]) -> None:
        print(f"| {name} | {median(ours) * ms:.0f} ms ({spread(ours, scale=ms)}) | {median(peer) * ms:.0f} ms "
              f"({spread(peer, scale=ms)}) | {median(ours) / median(peer):.2f}× |")  # fmt: skip

    row(f"cold: the pass (agent `duration_ms`) vs `kubectl apply --server-side`, median ({args.cold_runs} runs)", cold_pass, peer_cold)
    row("cold: whole process, `run --once` (clone, connect, pass, exit) vs `render` + `kubectl apply`", cold_wall, peer_total)
    print(f"| cold: peak RSS of the process (wait4), max | {mib(max(cold_rss))} | {mib(max(peer_cold_rss))} | "
          f"{max(cold_rss) / max(peer_cold_rss):.2f}× |")  # fmt: skip
    print(f"| no-change: agent pass (`lastPass.durationMs`) vs `kubectl diff --server-side`, median ({len(nochange)} each) | "
          f"{median(nochange) * ms:.1f} ms ({spread(nochange, scale=ms, digits=1)}) | {median(diff_wall) * ms:.0f} ms "
          f"({spread(diff_wall, scale=ms)}) | {median(nochange) / median(diff_wall):.3f}× |")  # fmt: skip
    print(f"| no-change: p90 | {p90(nochange) * ms:.1f} ms | {p90(diff_wall) * ms:.0f} ms | {p90(nochange) / p90(diff_wall):.3f}× |")
    print(f"| memory: agent VmHWM over the whole run vs `kubectl diff` peak RSS (max) | {mib(final['VmHWM'])} | "
          f"{mib(max(diff_rss))} | {final['VmHWM'] / max(diff_rss):.2f}× |")  # fmt: skip
    print(f"| no-change: API requests per pass, median ({requests_summary(r['agent_requests'])} / {requests_summary(r['peer_requests'])}) | "
          f"{median([len(x) for x in r['agent_requests']]):.0f} | {median([len(x) for x in r['peer_requests']]):.0f} | "
          f"{median([len(x) for x in r['agent_requests']]) / median([len(x) for x in r['peer_requests']]):.2f}× |")  # fmt: skip
    print(f"| memory: agent idle VmRSS (resident between passes) vs kubectl (exits) | {mib(idle['VmRSS'])} | 0 between runs | - |\n")

    print("| agent measure | result |")
    print("|---|---|")
    print(f"| cold pass outcome (`--once` exit 1 unless ready) | {r['cold_a'][0]['outcome']}: {r['cold_a'][0]['steps']} |")
    print(f"| `strata-agent render` process alone (the peer's render step), median | {median(render_wall) * ms:.0f} ms |")
    print(f"| push → applied, median / p90 / min / max | {median(pushes) * ms:.0f} / {p90(pushes) * ms:.0f} / "
          f"{min(pushes) * ms:.0f} / {max(pushes) * ms:.0f} ms |")  # fmt: skip
    print(f"| of which the applying pass (`lastPass.durationMs`), median | {median(r['push_passes']) * ms:.0f} ms |")
    triggers = {t: r["push_triggers"].count(t) for t in sorted(set(r["push_triggers"]))}
    print(f"| triggers of the applying passes | {', '.join(f'{k} {v}' for k, v in triggers.items())} |")
    print(f"| `git commit` + `git push` before each webhook (not in the latency), median | {median(r['push_git']) * ms:.0f} ms |")
    objs = r["push_applied"][0]
    print(f"| objects per push pass (applied / unchanged / pruned) | {objs['applied']} / {objs['unchanged']} / {objs['pruned']} |")
    objs = r["nochange_objects"][0]
    print(f"| objects per no-change pass (applied / unchanged / pruned) | {objs['applied']} / {objs['unchanged']} / {objs['pruned']} |")
    print(f"| RSS right after convergence (VmRSS / VmHWM) | {mib(converged['VmRSS'])} / {mib(converged['VmHWM'])} |")
    print(f"| RSS after {len(nochange)} no-change passes (VmRSS / VmHWM) | {mib(idle['VmRSS'])} / {mib(idle['VmHWM'])} |")
    print(f"| RSS after {len(pushes)} pushes (VmRSS / VmHWM) | {mib(final['VmRSS'])} / {mib(final['VmHWM'])} |")
    print(f"| idle VmRSS by kind: anonymous / file-backed (mostly the binary's own pages) | {mib(idle['RssAnon'])} / {mib(idle['RssFile'])} |\n")

    names = list(r["startup_steps"])
    print("| step (`lastPass.steps[].durationMs`) | startup pass (cold) | no-change, median (max) | push, median (max) |")
    print("|---|---|---|---|")
    for name in names:
        nc = [s.get(name, 0) for s in r["nochange_steps"]]
        ps = [s.get(name, 0) for s in r["push_steps"]]
        print(f"| {name} | {r['startup_steps'][name]} ms | {median(nc):.0f} ms ({max(nc)}) | {median(ps):.0f} ms ({max(ps)}) |")
    print(f"| whole pass | {r['startup']['lastPass']['durationMs']} ms | {median(nochange) * ms:.0f} ms "
          f"({max(nochange) * ms:.0f}) | {median(r['push_passes']) * ms:.0f} ms ({max(r['push_passes']) * ms:.0f}) |")  # fmt: skip
    if r["operate_message"]:
        print(f"\nThe startup pass ended `{r['startup_outcome']}`; its operate step said: {r['operate_message'][:300]}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"agent-bench: {error}", file=sys.stderr)
        sys.exit(1)
