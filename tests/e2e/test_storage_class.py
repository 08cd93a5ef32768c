"""`strata_storage_class` end to end: real Terraform 1.15, the provider as built, the
Kubernetes API stand-in (tests/kube-standin) as the cluster, moto as AWS (EKS and STS).

Two ways to reach a cluster are tested:
* explicit: `cluster { endpoint, cluster_ca_certificate, token }` against a stand-in
  serving HTTPS with its own CA (`--tls`) and requiring one static token (`--token`);
* EKS: `cluster { eks_cluster_name }` against a stand-in that accepts only EKS tokens
  (`--tls --eks-tokens`); moto's DescribeCluster reports the stand-in's URL and CA
  (tests/support/moto_ext.py's hook), and the token the provider mints is a presigned
  GetCallerIdentity request to moto's STS, which the test sends to moto itself — the
  stand-in checks a token's form, never its signature.

The stand-in enforces StorageClass immutability exactly like the API server, so an
in-place update of an immutable field would fail here as it would on a cluster.
"""

from __future__ import annotations

import secrets
import urllib.parse
import urllib.request

import pytest
from hcl import TERRAFORM_BLOCK, Block, block, line_of, provider
from strata_support import eks_cluster_on_standin

REGION = "us-west-2"
SC = "strata_storage_class.main"
NAME = "weaviate-gp3"
PATH = f"/apis/storage.k8s.io/v1/storageclasses/{NAME}"
CLUSTER = "kb-west"
HEADER = 'resource "strata_storage_class"'


def config(endpoint: str, cluster: dict, **arguments) -> str:
    """A root module with one `strata_storage_class.main`; `arguments` override the
    defaults (the seed's Weaviate class), None removes one."""
    args = {
        "name": NAME,
        "iops": 16000,
        "throughput": 1000,
        "encrypted": True,
        "labels": {"tier": "vector"},
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
    """A stand-in on HTTPS with one accepted token, and the cluster block reaching it."""
    token = secrets.token_hex(16)
    standin = kube_standin("--tls", "--token", token, token=token)
    cluster = {"endpoint": standin.url, "cluster_ca_certificate": standin.ca_pem, "token": token}
    return standin, cluster


def live(standin):
    code, body = standin.request("GET", PATH)
    return body if code == 200 else None


def test_create_update_in_place_replace_and_destroy(tf, moto, explicit):
    standin, cluster = explicit
    tf.write(config(moto.url, cluster))
    plan = tf.plan()
    # The IOPS note: 16,000 IOPS at 500 per GiB.
    assert "at least 32 GiB" in " ".join(plan.stdout.split())
    tf.apply("tfplan")

    sc = live(standin)
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["parameters"] == {
        "type": "gp3",
        "iops": "16000",
        "throughput": "1000",
        "encrypted": "true",
    }
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"], sc["allowVolumeExpansion"]) == (
        "Retain",
        "WaitForFirstConsumer",
        True,
    )
    assert sc["metadata"]["labels"] == {"tier": "vector"}
    assert sc["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "false"}
    assert [m["manager"] for m in sc["metadata"]["managedFields"]] == ["terraform-provider-strata"]
    state = tf.show_json()["values"]["root_module"]["resources"][0]["values"]
    assert state["type"] == "gp3" and state["parameters"]["iops"] == "16000"
    tf.assert_no_changes()
    # The token is sensitive: never shown in a plan.
    assert cluster["token"] not in tf.run("plan", "-no-color").stdout
    uid = sc["metadata"]["uid"]

    # Labels, expansion and the default-class flag change in place: the same object.
    tf.write(
        config(
            moto.url,
            cluster,
            labels={"tier": "vector", "team": "search"},
            allow_volume_expansion=False,
            default_class=True,
        )
    )
    tf.plan()
    assert tf.planned_actions() == {SC: ["update"]}
    tf.apply("tfplan")
    sc = live(standin)
    assert sc["metadata"]["uid"] == uid
    assert sc["metadata"]["labels"] == {"tier": "vector", "team": "search"}
    assert sc["allowVolumeExpansion"] is False
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    tf.assert_no_changes()

    # reclaim_policy is immutable in Kubernetes: replaced, not silently ignored.
    tf.write(config(moto.url, cluster, reclaim_policy="Delete"))
    tf.plan()
    assert tf.planned_actions() == {SC: ["delete", "create"]}
    assert "forces replacement" in tf.show_text()
    tf.apply("tfplan")
    sc = live(standin)
    assert sc["metadata"]["uid"] != uid and sc["reclaimPolicy"] == "Delete"
    uid = sc["metadata"]["uid"]

    # So are the parameters.
    tf.write(config(moto.url, cluster, reclaim_policy="Delete", iops=10000, throughput=250))
    tf.plan()
    assert tf.planned_actions() == {SC: ["delete", "create"]}
    tf.apply("tfplan")
    sc = live(standin)
    assert sc["metadata"]["uid"] != uid
    assert (sc["parameters"]["iops"], sc["parameters"]["throughput"]) == ("10000", "250")
    tf.assert_no_changes()

    tf.destroy()
    assert live(standin) is None


def test_drift_shows_in_the_plan_and_is_corrected(tf, moto, explicit):
    standin, cluster = explicit
    tf.apply_config(config(moto.url, cluster))

    # A label changed and one added, the default-class annotation flipped, by hand.
    code, _ = standin.request(
        "PATCH",
        PATH + "?fieldManager=kubectl-edit",
        {
            "metadata": {
                "labels": {"tier": "cache", "extra": "x"},
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            }
        },
        content_type="application/merge-patch+json",
    )
    assert code == 200
    assert tf.plan().code == 2
    assert tf.planned_actions() == {SC: ["update"]}
    text = tf.show_text()
    assert '"extra" = "x" -> null' in text and '"tier"  = "cache" -> "vector"' in text
    tf.apply("tfplan")
    sc = live(standin)
    assert sc["metadata"]["labels"] == {"tier": "vector"}
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "false"
    tf.assert_no_changes()

    # Parameters are immutable, so "changed by hand" means re-created by hand.
    sc = live(standin)
    assert standin.request("DELETE", PATH)[0] == 200
    tampered = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": NAME, "labels": sc["metadata"]["labels"]},
        "provisioner": sc["provisioner"],
        "parameters": {**sc["parameters"], "iops": "5000", "blockExpress": "true"},
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }
    assert standin.request("POST", "/apis/storage.k8s.io/v1/storageclasses", tampered)[0] == 201
    assert tf.plan().code == 2
    assert tf.planned_actions() == {SC: ["delete", "create"]}
    text = tf.show_text()
    assert "iops" in text and "5000 -> 16000" in text and "blockExpress" in text
    tf.apply("tfplan")
    assert live(standin)["parameters"]["iops"] == "16000"
    assert "blockExpress" not in live(standin)["parameters"]
    tf.assert_no_changes()

    # Deleted by hand: gone from the state, created again.
    assert standin.request("DELETE", PATH)[0] == 200
    assert tf.plan().code == 2
    assert tf.planned_actions() == {SC: ["create"]}
    tf.apply("tfplan")
    assert live(standin) is not None


def test_create_refuses_an_existing_class(tf, moto, explicit):
    standin, cluster = explicit
    theirs = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": NAME},
        "provisioner": "ebs.csi.aws.com",
    }
    assert standin.request("POST", "/apis/storage.k8s.io/v1/storageclasses", theirs)[0] == 201
    tf.write(config(moto.url, cluster))
    result = tf.run("apply", "-no-color", "-auto-approve", ok=(1,))
    assert "already exists" in result.stderr and "import" in result.stderr
    assert tf.show_json().get("values") is None


@pytest.fixture
def eks_cluster(moto, kube_standin):
    """An EKS cluster in moto whose DescribeCluster reports a stand-in that accepts only
    EKS tokens."""
    return eks_cluster_on_standin(moto, kube_standin, CLUSTER, REGION)


def test_eks_token_path_against_moto_sts(tf, moto, eks_cluster):
    standin = eks_cluster
    tf.write(config(moto.url, {"eks_cluster_name": CLUSTER}))
    tf.plan()
    tf.apply("tfplan")
    assert live(standin)["parameters"]["iops"] == "16000"
    tf.assert_no_changes()

    # What the provider sent as its token: a GetCallerIdentity request presigned for
    # the configured STS endpoint (moto), valid 60 s, binding the cluster name.
    urls = standin.accepted_eks_token_urls()
    assert urls, standin.log()
    url = urls[-1]
    assert url.startswith(f"{moto.url}/?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["Action"] == ["GetCallerIdentity"]
    assert query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]
    assert query["X-Amz-Credential"][0].split("/")[0] == "testing"
    assert query["X-Amz-Credential"][0].endswith(f"/{REGION}/sts/aws4_request")
    # ...which STS (moto) answers, as EKS's authenticator would ask it.
    request = urllib.request.Request(url, headers={"x-k8s-aws-id": CLUSTER})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = response.read().decode()
    assert response.status == 200 and "<Arn>" in answer and "GetCallerIdentityResult" in answer

    # A static token is refused by this cluster: the provider really used EKS tokens.
    assert standin.request("GET", PATH, token="kube-standin")[0] == 401

    # Import by CLUSTER/NAME into another state: the plan after it is empty.
    other = tf.__class__(tf.workdir.parent / "imported", tf.env)
    other.write(tf.config)
    other.import_(SC, f"{CLUSTER}/{NAME}")
    other.assert_no_changes()

    tf.destroy()
    assert live(standin) is None


def test_a_class_whose_eks_cluster_is_gone_is_gone(tf, moto, eks_cluster):
    tf.apply_config(config(moto.url, {"eks_cluster_name": CLUSTER}))
    moto.client("eks", REGION).delete_cluster(name=CLUSTER)
    assert tf.plan().code == 2
    assert tf.planned_actions() == {SC: ["create"]}
    # And destroying it is not an error.
    tf.destroy()


def test_import_of_a_missing_class_fails(tf, moto, eks_cluster):
    tf.write(config(moto.url, {"eks_cluster_name": CLUSTER}))
    result = tf.run("import", "-no-color", SC, f"{CLUSTER}/nosuch", ok=(1,))
    assert "non-existent" in result.stderr
    result = tf.run("import", "-no-color", SC, "just-a-name", ok=(1,))
    assert "CLUSTER/NAME" in result.stderr


CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

INVALID = [
    pytest.param({"iops": 20000}, ["iops"], "between 3000 and 16000", id="gp3-iops-high"),
    pytest.param({"iops": 2000, "throughput": None}, ["iops"], "between 3000", id="gp3-iops-low"),
    pytest.param({"throughput": 1001}, ["throughput"], "between 125 and 1000", id="gp3-throughput"),
    pytest.param({"iops": 3000}, ["throughput"], "0.25 MiB/s", id="gp3-throughput-per-iops"),
    pytest.param({"type": "gp2", "iops": None, "throughput": 500}, ["throughput"], "gp3 only", id="gp2-throughput"),
    pytest.param({"type": "io2", "iops": None, "throughput": None}, ["type"], "need provisioned IOPS", id="io2-without-iops"),
    pytest.param({"encrypted": None, "kms_key_id": "alias/x"}, ["kms_key_id"], "encrypted = true", id="kms-without-encryption"),
    pytest.param({"reclaim_policy": "Recycle"}, ["reclaim_policy"], "Retain", id="reclaim-policy"),
    pytest.param({"name": "Weaviate"}, ["name"], "lowercase", id="name"),
    pytest.param(
        {"cluster": {"eks_cluster_name": "x", "endpoint": "https://k8s.example"}},
        ["endpoint"], "cannot be combined", id="both-connections",
    ),
    pytest.param(
        {"cluster": {"endpoint": "https://k8s.example", "cluster_ca_certificate": CA}},
        ["cluster {"], "token is required", id="explicit-without-token",
    ),
    pytest.param(
        {"cluster": {"endpoint": "http://k8s.example", "cluster_ca_certificate": CA, "token": "t"}},
        ["endpoint"], "https://", id="plain-http-endpoint",
    ),
    pytest.param({"cluster": {"region": "us-east-1"}}, ["region"], "eks_cluster_name only", id="region-alone"),
]


@pytest.mark.parametrize("arguments,blame,message", INVALID)
def test_plan_time_validation_names_the_attribute(tf, moto, arguments, blame, message):
    cluster = arguments.pop("cluster", {"eks_cluster_name": CLUSTER})
    text = config(moto.url, cluster, **arguments)
    tf.write(text)
    code, diagnostics = tf.plan_diagnostics()
    assert code == 1
    errors = [d for d in diagnostics if d.get("severity") == "error"]
    assert errors, diagnostics
    lines = {line_of(text, argument, after=HEADER) for argument in blame if "{" not in argument}
    # A missing argument: Terraform points at the block that lacks it.
    lines |= {text.splitlines().index(f"  {b}") + 1 for b in blame if "{" in b}
    pointing = [d for d in errors if d.get("range", {}).get("start", {}).get("line") in lines]
    assert pointing, f"no error points at {blame} (lines {lines}): {errors}"
    assert any(message in d["detail"] for d in pointing), pointing
