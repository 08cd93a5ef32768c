"""Fixtures for Strata's end-to-end tests: real Terraform, the freshly built provider, moto.

Per session (paid once): the provider is built with cargo and copied into a plugin
directory that a CLI configuration names in `dev_overrides`; moto starts on a free
loopback port. Per test: moto is reset, and the test gets its own working directory.

Fixtures are lazy: a test that does not ask for the provider (the harness self-checks)
does not wait for cargo.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from harness import Ec2Inventory, Terraform  # noqa: E402
from strata_support import (  # noqa: E402
    KubeStandIn,
    MotoServer,
    build_kube_standin,
    build_provider,
    set_eks_cluster_access,
    install_provider,
    terraform_env,
    write_cli_config,
)

# The region the tests' provider block configures; tests name it explicitly.
REGION = "us-west-2"


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    """Scratch space shared by the whole run (plugin dir, CLI config, moto log)."""
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def provider_binary() -> Path:
    """The provider as cargo builds it (debug profile), built once per run."""
    return build_provider()


@pytest.fixture(scope="session")
def cli_config(session_dir, provider_binary) -> Path:
    """A TF_CLI_CONFIG_FILE whose dev_overrides make `strata/strata` our build."""
    plugin_dir = install_provider(provider_binary, session_dir / "plugins")
    return write_cli_config(session_dir / "terraform.tfrc", plugin_dir)


@pytest.fixture(scope="session")
def plain_cli_config(session_dir) -> Path:
    """A CLI configuration without the provider, for checks of the harness itself."""
    return write_cli_config(session_dir / "plain.tfrc", None)


@pytest.fixture(scope="session")
def moto_server(session_dir):
    """One moto for the whole run; see the `moto` fixture for per-test isolation."""
    with MotoServer(session_dir / "moto.log") as server:
        yield server


@pytest.fixture
def moto(moto_server) -> MotoServer:
    """moto, emptied before the test so tests cannot see each other's objects."""
    moto_server.reset()
    return moto_server


@pytest.fixture
def ec2(moto) -> Ec2Inventory:
    """What is in EC2 in the tests' region, read through boto3."""
    return Ec2Inventory(moto.client("ec2", REGION))


@pytest.fixture
def workspace(tmp_path, cli_config, moto) -> Callable[[str], Terraform]:
    """Factory for extra working directories (e.g. a second state for import tests)."""

    def make(name: str) -> Terraform:
        return Terraform(tmp_path / name, terraform_env(cli_config))

    return make


@pytest.fixture
def tf(workspace) -> Terraform:
    """The test's Terraform working directory, with the provider and a fresh moto."""
    return workspace("main")


@pytest.fixture(scope="session")
def kube_standin_binary() -> Path:
    """The Kubernetes API stand-in (tests/kube-standin), built once per run."""
    return build_kube_standin()


@pytest.fixture
def kube_standin(tmp_path, kube_standin_binary):
    """Factory: start stand-ins with the given flags; all are stopped after the test."""
    started: list[KubeStandIn] = []

    def start(*args: str, token: Optional[str] = None) -> KubeStandIn:
        standin = KubeStandIn(
            kube_standin_binary, tmp_path / f"kube-standin-{len(started)}", *args, token=token
        )
        started.append(standin)
        return standin

    yield start
    for standin in started:
        standin.stop()


@pytest.fixture(autouse=True)
def _kube_api_for_the_storage_class_example(request):
    """The documentation examples of strata_storage_class and strata_gitops_agent create
    an EKS cluster and objects in it: give the clusters moto creates a Kubernetes API (a
    stand-in that accepts EKS tokens) for those tests of test_doc_examples.py."""
    if not any(
        f"[{example}]" in request.node.name
        for example in ("strata_storage_class", "strata_gitops_agent")
    ):
        yield
        return
    moto = request.getfixturevalue("moto")
    standin = request.getfixturevalue("kube_standin")("--tls", "--eks-tokens")
    set_eks_cluster_access(moto, REGION, standin)
    yield
