"""`strata_gitops_agent` end to end: real Terraform, the provider as built, the Kubernetes
API stand-in (tests/kube-standin) as the cluster, moto as AWS (EKS and STS).

The agent is installed from its deploy file (agent/deploy/strata-agent.yaml, embedded in
the provider). These tests look at what lands in the cluster: the objects, the Deployment's
image and arguments, the Secrets the Deployment mounts, and what an update, a drift and a
destroy do to them. No agent runs (the stand-in has no pods); the agent's own tests cover
the agent against the same deploy file.
"""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from hcl import TERRAFORM_BLOCK, Block, block, line_of, provider
from strata_support import eks_cluster_on_standin

REGION = "us-west-2"
AGENT = "strata_gitops_agent.main"
HEADER = 'resource "strata_gitops_agent"'
REPO = "https://git.example.com/platform/config.git"
GIT_TOKEN = "ghp-" + "x" * 8 + "-git-token-value"
HOOK = "webhook-" + "y" * 8 + "-secret-value"
CLUSTER = "kb-west"


def paths(ns: str) -> dict[str, str]:
    """API path of each object the resource installs, by its `objects` entry."""
    core, apps, rbac = "/api/v1", "/apis/apps/v1", "/apis/rbac.authorization.k8s.io/v1"
    return {
        f"ServiceAccount {ns}/strata-agent": f"{core}/namespaces/{ns}/serviceaccounts/strata-agent",
        "ClusterRole strata-agent": f"{rbac}/clusterroles/strata-agent",
        "ClusterRoleBinding strata-agent": f"{rbac}/clusterrolebindings/strata-agent",
        f"Role {ns}/strata-agent-state": f"{rbac}/namespaces/{ns}/roles/strata-agent-state",
        f"RoleBinding {ns}/strata-agent-state": f"{rbac}/namespaces/{ns}/rolebindings/strata-agent-state",
        f"Secret {ns}/strata-agent-git": f"{core}/namespaces/{ns}/secrets/strata-agent-git",
        f"Secret {ns}/strata-agent-webhook": f"{core}/namespaces/{ns}/secrets/strata-agent-webhook",
        f"Deployment {ns}/strata-agent": f"{apps}/namespaces/{ns}/deployments/strata-agent",
        f"Service {ns}/strata-agent": f"{core}/namespaces/{ns}/services/strata-agent",
    }


def config(endpoint: str, cluster: dict, **arguments) -> str:
    """A root module with one `strata_gitops_agent.main`; `arguments` override the
    defaults, None removes one."""
    args = {
        "repository": REPO,
        "path": "clusters",
        "cluster_name": "us-west-2",
        "git_token": GIT_TOKEN,
        "webhook_secret": HOOK,
        "labels": {"team": "platform"},
        **arguments,
        "cluster": Block(cluster),
    }
    return "\n".join(
        [
            TERRAFORM_BLOCK,
            provider(endpoint, region=REGION),
            block(f'{HEADER} "main"', {k: v for k, v in args.items() if v is not None}),
        ]
    )


@pytest.fixture
def explicit(kube_standin):
    token = secrets.token_hex(16)
    standin = kube_standin("--tls", "--token", token, token=token)
    cluster = {"endpoint": standin.url, "cluster_ca_certificate": standin.ca_pem, "token": token}
    return standin, cluster


def get(standin, path):
    code, body = standin.request("GET", path)
    return body if code == 200 else None


def create(standin, path, obj):
    code, body = standin.request("POST", path, obj)
    assert code == 201, body


def namespace(standin, name):
    create(standin, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def configmap(standin, ns, name):
    create(
        standin,
        f"/api/v1/namespaces/{ns}/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}},
    )


def parse_args(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """(positional arguments, flags) of a command line, `--f=v` and `--f v` alike."""
    positional, flags, i = [], {}, 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            if "=" in arg:
                k, v = arg[2:].split("=", 1)
            elif i + 1 < len(args) and not args[i + 1].startswith("--"):
                k, v = arg[2:], args[i + 1]
                i += 1
            else:
                k, v = arg[2:], ""
            flags[k] = v
        else:
            positional.append(arg)
        i += 1
    return positional, flags


def agent_container(deployment):
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "agent"
    return container


def secret_data(secret) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def checksum(deployment) -> str:
    return deployment["spec"]["template"]["metadata"]["annotations"]["strata.dev/secrets-checksum"]


def state_values(tf) -> dict:
    [resource] = tf.show_json()["values"]["root_module"]["resources"]
    return resource


def test_install_update_drift_and_destroy_in_an_existing_namespace(tf, moto, explicit):
    standin, cluster = explicit
    ns = "gitops"
    # The namespace exists, with something of someone else's in it (and the agent's own
    # inventory, as a running agent would have written it); the agent applied a tier
    # elsewhere.
    namespace(standin, ns)
    configmap(standin, ns, "unrelated")
    configmap(standin, ns, "strata-agent-inventory")
    namespace(standin, "data")
    configmap(standin, "data", "redis-config")

    tf.write(config(moto.url, cluster, namespace=ns))
    plan = tf.plan()
    assert GIT_TOKEN not in plan.stdout and HOOK not in plan.stdout
    tf.apply("tfplan")

    objects = paths(ns)
    for name, path in objects.items():
        obj = get(standin, path)
        assert obj is not None, name
        assert obj["metadata"]["labels"]["team"] == "platform", name
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == "strata-agent", name
        assert [m["manager"] for m in obj["metadata"]["managedFields"]] == ["terraform-provider-strata"], name

    deployment = get(standin, objects[f"Deployment {ns}/strata-agent"])
    assert deployment["spec"]["replicas"] == 2
    container = agent_container(deployment)
    assert container["image"] == "strata-agent:0.1.0"
    positional, flags = parse_args(container["args"])
    assert positional == ["run", REPO]
    assert flags == {
        "ref": "main",
        "path": "clusters",
        "cluster": "us-west-2",
        "interval": "30s",
        "listen": "0.0.0.0:8080",
        "cache-dir": "/var/cache/strata-agent",
        "token-file": "/etc/strata/git/token",
        "webhook-secret-file": "/etc/strata/webhook/secret",
    }
    # The credential files are the mounted Secrets' keys.
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert mounts["git-credentials"] == "/etc/strata/git"
    assert volumes["git-credentials"]["secret"]["secretName"] == "strata-agent-git"
    assert mounts["webhook-secret"] == "/etc/strata/webhook"
    assert volumes["webhook-secret"]["secret"]["secretName"] == "strata-agent-webhook"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "strata-agent"
    assert secret_data(get(standin, objects[f"Secret {ns}/strata-agent-git"])) == {"token": GIT_TOKEN}
    assert secret_data(get(standin, objects[f"Secret {ns}/strata-agent-webhook"])) == {"secret": HOOK}
    # The bindings name the service account in this namespace.
    crb = get(standin, objects["ClusterRoleBinding strata-agent"])
    assert crb["subjects"] == [
        {"apiGroup": "", "kind": "ServiceAccount", "name": "strata-agent", "namespace": ns}
    ]
    assert get(standin, f"/api/v1/namespaces/{ns}")["metadata"].get("labels", {}).get("team") is None

    resource = state_values(tf)
    values = resource["values"]
    assert values["objects"] == list(objects)
    assert values["namespace_created"] is False
    assert values["status_url"] == f"http://strata-agent.{ns}.svc:8080"
    assert values["id"] == ns
    # Write-only: the credentials are in no plan and nowhere in the state, only their
    # checksum (the pod template's annotation) is.
    for name in ("git_token", "webhook_secret", "git_ssh_key"):
        assert values[name] is None, name
    assert values["credentials_checksum"] == checksum(deployment)
    for text in (
        json.dumps(tf.show_json()),
        tf.run("state", "pull").stdout,
        tf.run("show", "-no-color").stdout,
        # The saved plan, but for its copy of the configuration (the .tf files as written).
        json.dumps({k: v for k, v in tf.show_json("tfplan").items() if k != "configuration"}),
    ):
        assert GIT_TOKEN not in text and HOOK not in text
    tf.assert_no_changes()
    generation = deployment["metadata"]["generation"]
    sum_before = checksum(deployment)

    # A new ref: the pod template changes, so the Deployment rolls.
    tf.write(config(moto.url, cluster, namespace=ns, ref="release"))
    tf.plan()
    assert tf.planned_actions() == {AGENT: ["update"]}
    tf.apply("tfplan")
    deployment = get(standin, objects[f"Deployment {ns}/strata-agent"])
    assert parse_args(agent_container(deployment)["args"])[1]["ref"] == "release"
    assert deployment["metadata"]["generation"] == generation + 1
    assert checksum(deployment) == sum_before
    generation += 1
    tf.assert_no_changes()

    # Only the webhook secret changes: the Secret is updated and the checksum on the pod
    # template rolls the Deployment; the arguments stay.
    new_hook = "another-webhook-secret-value"
    tf.write(config(moto.url, cluster, namespace=ns, ref="release", webhook_secret=new_hook))
    plan = tf.plan()
    assert tf.planned_actions() == {AGENT: ["update"]}
    planned = {k: v for k, v in tf.show_json("tfplan").items() if k != "configuration"}
    assert new_hook not in plan.stdout and new_hook not in json.dumps(planned)
    tf.apply("tfplan")
    assert secret_data(get(standin, objects[f"Secret {ns}/strata-agent-webhook"])) == {"secret": new_hook}
    deployment = get(standin, objects[f"Deployment {ns}/strata-agent"])
    assert checksum(deployment) != sum_before
    assert deployment["metadata"]["generation"] == generation + 1
    assert parse_args(agent_container(deployment)["args"])[1]["ref"] == "release"
    tf.assert_no_changes()

    # Out of band: the Deployment's image, replicas and arguments edited by hand.
    hacked = agent_container(deployment)["args"][:]
    hacked[hacked.index("--ref=release")] = "--ref=hacked"
    code, body = standin.request(
        "PATCH",
        objects[f"Deployment {ns}/strata-agent"] + "?fieldManager=kubectl-edit",
        {
            "spec": {
                "replicas": 5,
                "template": {"spec": {"containers": [{"name": "agent", "image": "evil:1", "args": hacked}]}},
            }
        },
        content_type="application/strategic-merge-patch+json",
    )
    assert code == 200, body
    assert tf.plan().code == 2
    assert tf.planned_actions() == {AGENT: ["update"]}
    text = tf.show_text()
    assert '"hacked" -> "release"' in text and '"evil:1" -> "strata-agent:0.1.0"' in text
    assert "5 -> 2" in text
    tf.apply("tfplan")
    deployment = get(standin, objects[f"Deployment {ns}/strata-agent"])
    assert deployment["spec"]["replicas"] == 2
    assert agent_container(deployment)["image"] == "strata-agent:0.1.0"
    assert parse_args(agent_container(deployment)["args"])[1]["ref"] == "release"
    tf.assert_no_changes()

    # A credential changed by hand is drift too.
    code, _ = standin.request(
        "PATCH",
        objects[f"Secret {ns}/strata-agent-git"],
        {"data": {"token": base64.b64encode(b"stolen").decode()}},
        content_type="application/merge-patch+json",
    )
    assert code == 200
    assert tf.plan().code == 2
    assert tf.planned_actions() == {AGENT: ["update"]}
    tf.apply("tfplan")
    assert secret_data(get(standin, objects[f"Secret {ns}/strata-agent-git"])) == {"token": GIT_TOKEN}

    # Installed objects deleted by hand are re-created by the next apply.
    for name in (f"Service {ns}/strata-agent", "ClusterRole strata-agent"):
        assert standin.request("DELETE", objects[name])[0] == 200
    assert tf.plan().code == 2
    assert tf.planned_actions() == {AGENT: ["update"]}
    tf.apply("tfplan")
    assert get(standin, objects[f"Service {ns}/strata-agent"]) is not None
    assert get(standin, objects["ClusterRole strata-agent"]) is not None
    tf.assert_no_changes()

    # Destroy: exactly what was installed goes; the namespace that existed before, the
    # unrelated object in it, the agent's inventory and what the agent applied stay.
    tf.destroy()
    for name, path in objects.items():
        assert get(standin, path) is None, name
    assert get(standin, f"/api/v1/namespaces/{ns}") is not None
    assert get(standin, f"/api/v1/namespaces/{ns}/configmaps/unrelated") is not None
    assert get(standin, f"/api/v1/namespaces/{ns}/configmaps/strata-agent-inventory") is not None
    assert get(standin, "/api/v1/namespaces/data/configmaps/redis-config") is not None


def test_a_namespace_it_creates_is_deleted_with_it(tf, moto, explicit):
    standin, cluster = explicit
    namespace(standin, "data")
    configmap(standin, "data", "redis-config")
    tf.apply_config(config(moto.url, cluster, git_token=None, webhook_secret=None, path=None))
    ns = "strata-system"
    created = get(standin, f"/api/v1/namespaces/{ns}")
    # The deploy file's Namespace: restricted pod security.
    assert created["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    values = state_values(tf)["values"]
    assert values["namespace_created"] is True
    assert values["objects"] == [f"Namespace {ns}", *paths(ns)]
    deployment = get(standin, paths(ns)[f"Deployment {ns}/strata-agent"])
    positional, flags = parse_args(agent_container(deployment)["args"])
    assert positional == ["run", REPO]
    # Without credentials: no credential flags, no path; the Secrets exist, empty.
    for flag in ("token-file", "ssh-key-file", "webhook-secret-file", "path"):
        assert flag not in flags, flag
    assert secret_data(get(standin, paths(ns)[f"Secret {ns}/strata-agent-git"])) == {}
    tf.assert_no_changes()

    # An ssh key instead: the key lands in the git Secret, the agent gets --ssh-key-file.
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    tf.write(config(moto.url, cluster, git_token=None, webhook_secret=None, path=None,
                    repository="ssh://git@git.example.com/platform/config.git", git_ssh_key=key))
    tf.plan()
    assert tf.planned_actions() == {AGENT: ["update"]}
    tf.apply("tfplan")
    deployment = get(standin, paths(ns)[f"Deployment {ns}/strata-agent"])
    positional, flags = parse_args(agent_container(deployment)["args"])
    assert positional == ["run", "ssh://git@git.example.com/platform/config.git"]
    assert flags["ssh-key-file"] == "/etc/strata/git/ssh-key"
    assert secret_data(get(standin, paths(ns)[f"Secret {ns}/strata-agent-git"])) == {"ssh-key": key}
    tf.assert_no_changes()

    # Another namespace is another installation.
    tf.write(config(moto.url, cluster, git_token=None, webhook_secret=None, path=None,
                    repository="ssh://git@git.example.com/platform/config.git", git_ssh_key=key,
                    namespace="agents"))
    tf.plan()
    assert tf.planned_actions() == {AGENT: ["delete", "create"]}

    tf.destroy()
    assert get(standin, f"/api/v1/namespaces/{ns}") is None
    for name, path in paths(ns).items():
        assert get(standin, path) is None, name
    assert get(standin, "/api/v1/namespaces/data/configmaps/redis-config") is not None


def test_create_refuses_an_existing_agent(tf, moto, explicit):
    standin, cluster = explicit
    tf.apply_config(config(moto.url, cluster))
    other = tf.__class__(tf.workdir.parent / "second", tf.env)
    other.write(config(moto.url, cluster))
    other.init()
    result = other.run("apply", "-no-color", "-auto-approve", ok=(1,))
    assert "already exists" in result.stderr and "import" in result.stderr
    assert other.show_json().get("values") is None


@pytest.fixture
def eks_cluster(moto, kube_standin):
    """An EKS cluster in moto whose DescribeCluster reports a stand-in that accepts only
    EKS tokens."""
    return eks_cluster_on_standin(moto, kube_standin, CLUSTER, REGION)


def test_eks_cluster_by_name_and_import(tf, moto, eks_cluster):
    standin = eks_cluster
    tf.write(config(moto.url, {"eks_cluster_name": CLUSTER}))
    tf.plan()
    tf.apply("tfplan")
    ns = "strata-system"
    deployment = get(standin, paths(ns)[f"Deployment {ns}/strata-agent"])
    assert parse_args(agent_container(deployment)["args"])[1]["cluster"] == "us-west-2"
    assert standin.accepted_eks_token_urls(), standin.log()
    tf.assert_no_changes()

    # Import by CLUSTER/NAMESPACE into another state: everything is read back (the
    # Secrets' checksum included), so the plan after it is empty.
    other = tf.__class__(tf.workdir.parent / "imported", tf.env)
    other.write(tf.config)
    other.import_(AGENT, f"{CLUSTER}/{ns}")
    other.assert_no_changes()
    imported = state_values(other)["values"]
    assert imported["namespace_created"] is False and imported["git_token"] is None
    assert imported["credentials_checksum"] == state_values(tf)["values"]["credentials_checksum"]
    result = other.run("import", "-no-color", "strata_gitops_agent.x", "no-slash", ok=(1,))
    assert "CLUSTER/NAMESPACE" in result.stderr or "not exist" in result.stderr

    tf.destroy()
    for name, path in paths(ns).items():
        assert get(standin, path) is None, name
    assert get(standin, f"/api/v1/namespaces/{ns}") is None


INVALID = [
    pytest.param({"git_ssh_key": "k"}, "git_ssh_key", "cannot be combined", id="token-and-ssh-key"),
    pytest.param({"namespace": "Strata_System"}, "namespace", "lower case", id="namespace"),
    pytest.param({"interval": "soon"}, "interval", "positive duration", id="interval"),
    pytest.param({"replicas": -1}, "replicas", "0 or more", id="replicas"),
]


@pytest.mark.parametrize("arguments,blame,message", INVALID)
def test_plan_time_validation_names_the_attribute(tf, moto, arguments, blame, message):
    text = config(moto.url, {"eks_cluster_name": CLUSTER}, **arguments)
    tf.write(text)
    code, diagnostics = tf.plan_diagnostics()
    assert code == 1
    errors = [d for d in diagnostics if d.get("severity") == "error"]
    line = line_of(text, blame, after=HEADER)
    pointing = [d for d in errors if d.get("range", {}).get("start", {}).get("line") == line]
    assert pointing, f"no error points at {blame} (line {line}): {errors}"
    assert any(message in d["detail"] for d in pointing), pointing
