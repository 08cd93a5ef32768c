"""`strata_eks_cluster` end to end: real Terraform 1.15, the provider as built, moto as AWS.

Each test is something a user would do and checks what they would notice: the plan
Terraform shows, and the cluster and IAM role in AWS as boto3 reads them. moto runs
through tests/support/moto_ext.py, which adds the EKS update operations moto lacks
(UpdateClusterVersion, DescribeUpdate); its own tests are in test_moto_ext.py.

What moto does differently from EKS, and what that means here:
* clusters are `ACTIVE` the moment they are created, and updates succeed at once, so
  the tests see the end of every wait, not the wait;
* moto stores the VPC configuration exactly as sent: no cluster security group, no
  default `publicAccessCidrs`, and `endpointPublicAccess`/`endpointPrivateAccess` read
  back as false when the creator did not send them (so the import test's boto3 create
  sends them, as every real cluster has them);
* moto's UpdateClusterConfig answers without an update ID (EKS returns one), so the
  logging and endpoint tests exercise the provider's "poll the cluster until ACTIVE"
  path, and the version upgrade its DescribeUpdate path.
"""

from __future__ import annotations

import botocore.exceptions
import pytest
from hcl import TERRAFORM_BLOCK, block, line_of, provider

REGION = "us-west-2"
NAME = "kb-west"
CLUSTER = "strata_eks_cluster.main"
ROLE = f"{NAME}-eks-cluster"
POLICIES = {
    "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
    "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController",
}
PRIVATE_SUBNETS = "values(strata_vpc.net.private_subnet_ids)"
PUBLIC_SUBNETS = "values(strata_vpc.net.public_subnet_ids)"


def cluster_config(
    endpoint: str,
    *,
    subnets: str = PRIVATE_SUBNETS,
    region: str = REGION,
    **arguments,
) -> str:
    """A root module: a `strata_vpc.net` (two zones, no NAT) and `strata_eks_cluster.main`
    on its subnets. `arguments` are further cluster arguments, one per line; `subnets`
    is an HCL expression."""
    cluster = block(
        'resource "strata_eks_cluster" "main"',
        {"name": NAME, "subnet_ids": "@SUBNETS@", **arguments},
    ).replace('"@SUBNETS@"', subnets)
    return "\n".join(
        [
            TERRAFORM_BLOCK,
            provider(endpoint, region=region),
            block(
                'resource "strata_vpc" "net"',
                {
                    "name": "kb-net",
                    "cidr_block": "10.0.0.0/16",
                    "availability_zones": [f"{region}a", f"{region}b"],
                    "nat_gateway_mode": "none",
                },
            ),
            cluster,
            'output "cluster" {\n  value = strata_eks_cluster.main\n}\n',
            'output "net" {\n  value = strata_vpc.net\n}\n',
        ]
    )


@pytest.fixture
def eks(moto):
    return moto.client("eks", REGION)


@pytest.fixture
def iam(moto):
    return moto.client("iam", REGION)


def cluster_in_moto(eks, name: str = NAME):
    """DescribeCluster's answer, or None when the cluster does not exist."""
    try:
        return eks.describe_cluster(name=name)["cluster"]
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def role_in_moto(iam, name: str = ROLE):
    try:
        return iam.get_role(RoleName=name)["Role"]
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise


def enabled_log_types(cluster: dict) -> set[str]:
    return {
        t
        for setup in cluster.get("logging", {}).get("clusterLogging", [])
        if setup.get("enabled")
        for t in setup.get("types", [])
    }


def test_create_waits_for_active_and_creates_the_role(tf, moto, eks, iam):
    config = cluster_config(
        moto.url,
        kubernetes_version="1.30",
        enabled_log_types=["api", "audit"],
        tags={"team": "data"},
    )
    tf.write(config)
    tf.init()
    tf.validate()
    assert tf.plan().code == 2
    assert tf.planned_actions()[CLUSTER] == ["create"]
    tf.apply("tfplan")
    out = tf.outputs()
    state, net = out["cluster"], out["net"]

    cluster = cluster_in_moto(eks)
    assert cluster["status"] == "ACTIVE"
    assert cluster["version"] == "1.30"
    assert set(cluster["resourcesVpcConfig"]["subnetIds"]) == set(
        net["private_subnet_ids"].values()
    )
    assert cluster["resourcesVpcConfig"]["endpointPublicAccess"] is True
    assert cluster["resourcesVpcConfig"]["endpointPrivateAccess"] is True
    assert enabled_log_types(cluster) == {"api", "audit"}
    assert cluster["tags"] == {"team": "data"}

    role = role_in_moto(iam)
    assert role is not None, "the provider must create the cluster role"
    assert cluster["roleArn"] == role["Arn"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "eks.amazonaws.com"}
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert {p["PolicyArn"] for p in attached} == POLICIES
    assert {t["Key"]: t["Value"] for t in role.get("Tags", [])}.get(
        "strata.dev/managed-by"
    ) == "terraform-provider-strata"

    assert state["id"] == NAME
    assert state["status"] == "ACTIVE"
    assert state["role_arn"] == role["Arn"]
    assert state["created_role_name"] == ROLE
    assert state["arn"] == cluster["arn"]
    assert state["endpoint"] == cluster["endpoint"]
    assert state["certificate_authority_data"] == cluster["certificateAuthority"]["data"]
    assert state["oidc_issuer_url"] == cluster["identity"]["oidc"]["issuer"]
    assert state["platform_version"] == cluster["platformVersion"]
    assert state["region"] == REGION
    assert state["tags_all"] == {"team": "data"}
    tf.assert_no_changes()


def test_version_upgrade_is_in_place_and_waited_for(tf, moto, eks):
    tf.apply_config(cluster_config(moto.url, kubernetes_version="1.30"))
    before = tf.outputs()["cluster"]

    tf.write(cluster_config(moto.url, kubernetes_version="1.31"))
    assert tf.plan().code == 2
    assert tf.planned_actions()[CLUSTER] == ["update"]
    text = tf.show_text()
    assert '~ kubernetes_version' in text and '"1.30" -> "1.31"' in text
    tf.apply("tfplan")

    cluster = cluster_in_moto(eks)
    assert cluster["version"] == "1.31"
    updates = eks.list_updates(name=NAME)["updateIds"]
    assert len(updates) == 1, "one UpdateClusterVersion, followed with DescribeUpdate"
    assert eks.describe_update(name=NAME, updateId=updates[0])["update"]["type"] == "VersionUpdate"
    after = tf.outputs()["cluster"]
    assert after["kubernetes_version"] == "1.31"
    assert after["platform_version"] == cluster["platformVersion"]
    # Same control plane: nothing that identifies it changed.
    for attr in ("arn", "endpoint", "oidc_issuer_url", "certificate_authority_data"):
        assert after[attr] == before[attr], attr
    tf.assert_no_changes()


@pytest.mark.parametrize(
    "version, mentions",
    [("1.32", "one minor version at a time"), ("1.29", "downgrade")],
    ids=["skip", "downgrade"],
)
def test_unsupported_version_changes_are_refused_at_plan(tf, moto, eks, version, mentions):
    tf.apply_config(cluster_config(moto.url, kubernetes_version="1.30"))
    config = cluster_config(moto.url, kubernetes_version=version)
    tf.write(config)
    code, diagnostics = tf.plan_diagnostics()
    assert code == 1
    line = line_of(config, "kubernetes_version", after='resource "strata_eks_cluster"')
    errors = [
        d
        for d in diagnostics
        if d["severity"] == "error" and d.get("range", {}).get("start", {}).get("line") == line
    ]
    assert errors, f"no error on kubernetes_version (line {line}): {diagnostics}"
    assert mentions in errors[0]["detail"]
    assert cluster_in_moto(eks)["version"] == "1.30"


def test_log_types_and_endpoint_access_update_in_place(tf, moto, eks):
    tf.apply_config(cluster_config(moto.url, enabled_log_types=["api"]))
    tf.write(
        cluster_config(
            moto.url,
            enabled_log_types=["api", "audit", "scheduler"],
            endpoint_public_access=True,
            endpoint_private_access=False,
            public_access_cidrs=["203.0.113.0/24"],
        )
    )
    assert tf.plan().code == 2
    assert tf.planned_actions()[CLUSTER] == ["update"]
    tf.apply("tfplan")

    cluster = cluster_in_moto(eks)
    assert enabled_log_types(cluster) == {"api", "audit", "scheduler"}
    vpc = cluster["resourcesVpcConfig"]
    assert vpc["endpointPrivateAccess"] is False
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert len(vpc["subnetIds"]) == 2, "an endpoint update must not touch the subnets"
    tf.assert_no_changes()

    # Switching every log type off is a change too.
    tf.write(
        cluster_config(
            moto.url,
            endpoint_private_access=False,
            public_access_cidrs=["203.0.113.0/24"],
        )
    )
    assert tf.plan().code == 2
    tf.apply("tfplan")
    assert enabled_log_types(cluster_in_moto(eks)) == set()
    tf.assert_no_changes()


def test_tags_update_in_place(tf, moto, eks):
    tf.apply_config(cluster_config(moto.url, tags={"team": "data", "tier": "gold"}))
    tf.write(cluster_config(moto.url, tags={"team": "platform"}))
    assert tf.plan().code == 2
    assert tf.planned_actions()[CLUSTER] == ["update"]
    tf.apply("tfplan")
    assert cluster_in_moto(eks)["tags"] == {"team": "platform"}
    tf.assert_no_changes()


def test_changing_subnets_replaces_the_cluster(tf, moto, eks, iam):
    tf.apply_config(cluster_config(moto.url))
    old_arn = tf.outputs()["cluster"]["arn"]

    tf.write(cluster_config(moto.url, subnets=PUBLIC_SUBNETS))
    assert tf.plan().code == 2
    assert tf.planned_actions()[CLUSTER] == ["delete", "create"]
    text = tf.show_text()
    assert "-/+" in text and "forces replacement" in text
    tf.apply("tfplan")

    out = tf.outputs()
    cluster = cluster_in_moto(eks)
    assert set(cluster["resourcesVpcConfig"]["subnetIds"]) == set(
        out["net"]["public_subnet_ids"].values()
    )
    assert out["cluster"]["arn"] == old_arn  # same name, same ARN: a new cluster behind it
    assert role_in_moto(iam) is not None, "the replacement has its role again"
    tf.assert_no_changes()


@pytest.mark.parametrize("region", [REGION, "us-east-1"])
def test_import_of_a_cluster_made_with_boto3(tf, moto, region):
    eks, iam, ec2 = (moto.client(s, region) for s in ("eks", "iam", "ec2"))
    role_arn = iam.create_role(
        RoleName=f"imported-{region}",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}',
    )["Role"]["Arn"]
    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"{region}{az}")[
            "Subnet"
        ]["SubnetId"]
        for cidr, az in (("10.9.0.0/20", "a"), ("10.9.16.0/20", "b"))
    ]
    eks.create_cluster(
        name="handmade",
        version="1.31",
        roleArn=role_arn,
        resourcesVpcConfig={
            "subnetIds": subnets,
            "endpointPublicAccess": True,
            "endpointPrivateAccess": False,
            "publicAccessCidrs": ["198.51.100.0/24"],
        },
        kubernetesNetworkConfig={"serviceIpv4Cidr": "10.100.0.0/16"},
        logging={"clusterLogging": [{"types": ["audit"], "enabled": True}]},
        tags={"owner": "ops", "aws:cloudformation:stack-name": "legacy"},
    )

    arguments = {
        "name": "handmade",
        "kubernetes_version": "1.31",
        "role_arn": role_arn,
        "subnet_ids": subnets,
        "endpoint_private_access": False,
        "public_access_cidrs": ["198.51.100.0/24"],
        "service_ipv4_cidr": "10.100.0.0/16",
        "enabled_log_types": ["audit"],
        "tags": {"owner": "ops"},
    }
    if region != REGION:
        arguments["region"] = region
    tf.write(
        "\n".join(
            [
                TERRAFORM_BLOCK,
                provider(moto.url, region=REGION),
                block('resource "strata_eks_cluster" "main"', arguments),
            ]
        )
    )
    tf.init()
    import_id = "handmade" if region == REGION else f"{region}/handmade"
    tf.import_(CLUSTER, import_id)
    # Every argument round-trips: the plan after import is empty. The `aws:` tag is
    # AWS's own and never shows.
    tf.assert_no_changes()
    state = next(
        r["values"]
        for r in tf.show_json()["values"]["root_module"]["resources"]
        if r["address"] == CLUSTER
    )
    assert state["created_role_name"] is None, "an imported cluster's role is not ours"
    assert state["region"] == region
    assert state["status"] == "ACTIVE"
    # Destroying it must leave the role it did not create.
    tf.destroy()
    assert cluster_in_moto(eks, "handmade") is None
    assert role_in_moto(iam, f"imported-{region}") is not None


def test_import_of_a_missing_cluster_fails(tf, moto):
    tf.write(
        "\n".join(
            [
                TERRAFORM_BLOCK,
                provider(moto.url),
                block(
                    'resource "strata_eks_cluster" "main"',
                    {"name": "nosuch", "subnet_ids": ["subnet-1"]},
                ),
            ]
        )
    )
    tf.init()
    result = tf.run("import", "-no-color", "-input=false", CLUSTER, "nosuch", ok=(1,))
    assert "non-existent" in result.stderr or "Cannot import" in result.stderr


@pytest.mark.parametrize("own_role", [False, True], ids=["created_role", "given_role"])
def test_cluster_deleted_out_of_band_is_recreated(tf, moto, eks, iam, own_role):
    arguments = {}
    if own_role:
        arguments["role_arn"] = iam.create_role(
            RoleName="mine", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}'
        )["Role"]["Arn"]
    tf.apply_config(cluster_config(moto.url, **arguments))
    eks.delete_cluster(name=NAME)

    assert tf.plan().code == 2
    actions = tf.planned_actions()[CLUSTER]
    # With its role still there the old state is kept (so the role is accounted for) and
    # replaced; without one the cluster is simply gone from state and created again.
    assert actions == (["create"] if own_role else ["delete", "create"])
    tf.apply("tfplan")
    assert cluster_in_moto(eks)["status"] == "ACTIVE"
    assert role_in_moto(iam, "mine" if own_role else ROLE) is not None
    tf.assert_no_changes()


def test_destroy_removes_the_cluster_and_the_created_role(tf, moto, eks, iam):
    tf.apply_config(cluster_config(moto.url))
    assert cluster_in_moto(eks) is not None and role_in_moto(iam) is not None
    tf.destroy()
    assert cluster_in_moto(eks) is None
    assert role_in_moto(iam) is None
    assert eks.list_clusters()["clusters"] == []


def test_destroy_after_the_cluster_vanished_still_removes_the_role(tf, moto, eks, iam):
    tf.apply_config(cluster_config(moto.url))
    eks.delete_cluster(name=NAME)
    tf.destroy()
    assert role_in_moto(iam) is None, "the role the provider created must not be orphaned"


def test_failed_create_keeps_the_role_in_state_and_destroy_removes_it(tf, moto, eks, iam):
    # Someone else's cluster holds the name: the role gets created, the cluster does not.
    eks.create_cluster(
        name=NAME,
        roleArn="arn:aws:iam::123456789012:role/theirs",
        resourcesVpcConfig={"subnetIds": ["subnet-theirs"]},
    )
    tf.write(cluster_config(moto.url))
    tf.init()
    tf.plan()
    failed = tf.run("apply", "-no-color", "-input=false", "-auto-approve", "tfplan", ok=(1,))
    assert "ResourceInUseException" in failed.stderr
    state = next(
        r["values"]
        for r in tf.show_json()["values"]["root_module"]["resources"]
        if r["address"] == CLUSTER
    )
    assert state["created_role_name"] == ROLE
    assert state["id"] is None, "the cluster that refused the create is not ours"
    assert role_in_moto(iam) is not None

    tf.destroy()
    assert role_in_moto(iam) is None, "destroy removes the role the failed create made"
    theirs = cluster_in_moto(eks)
    assert theirs is not None and theirs["resourcesVpcConfig"]["subnetIds"] == ["subnet-theirs"], (
        "a cluster that is not ours is never deleted"
    )


def test_same_name_in_two_regions_does_not_share_the_created_role(tf, moto, iam):
    # IAM is global, cluster names are regional: both clusters would get the role
    # `kb-west-eks-cluster`. The second must not adopt (and later delete) the first's.
    def cluster(label: str, region: str, extra: str = "") -> str:
        return (
            f'resource "strata_eks_cluster" "{label}" {{\n'
            f'  name       = "{NAME}"\n'
            f'  region     = "{region}"\n'
            f'  subnet_ids = ["subnet-{label}"]\n{extra}}}\n'
        )

    tf.write(
        "\n".join(
            [
                TERRAFORM_BLOCK,
                provider(moto.url),
                cluster("west", REGION),
                cluster("east", "us-east-1", "  depends_on = [strata_eks_cluster.west]\n"),
            ]
        )
    )
    tf.init()
    failed = tf.run("apply", "-no-color", "-input=false", "-auto-approve", ok=(1,))
    assert f"already exists for eks-cluster/{REGION}/{NAME}" in failed.stderr
    assert cluster_in_moto(moto.client("eks", "us-east-1")) is None
    addresses = [r["address"] for r in tf.show_json()["values"]["root_module"]["resources"]]
    assert addresses == ["strata_eks_cluster.west"], "the failed cluster recorded nothing"

    tf.destroy()
    assert role_in_moto(iam) is None
    assert cluster_in_moto(moto.client("eks", REGION)) is None


@pytest.mark.parametrize(
    "arguments, subnets, blame, mentions",
    [
        ({"enabled_log_types": ["api", "kubelet"]}, PRIVATE_SUBNETS, "enabled_log_types", '"kubelet"'),
        ({}, "[]", "subnet_ids", "at least one subnet"),
        ({"kubernetes_version": "latest"}, PRIVATE_SUBNETS, "kubernetes_version", "major.minor"),
        (
            {"endpoint_public_access": False, "endpoint_private_access": False},
            PRIVATE_SUBNETS,
            "endpoint_private_access",
            "cannot both be false",
        ),
        ({"public_access_cidrs": ["10.0.0.1/8"]}, PRIVATE_SUBNETS, "public_access_cidrs", "10.0.0.1/8"),
    ],
    ids=["unknown_log_type", "empty_subnets", "bad_version", "no_endpoint", "bad_cidr"],
)
def test_bad_input_is_refused_naming_the_argument(
    tf, moto, eks, iam, arguments, subnets, blame, mentions
):
    config = cluster_config(moto.url, subnets=subnets, **arguments)
    tf.write(config)
    tf.init()
    code, diagnostics = tf.validate_diagnostics()
    if code == 0:
        code, diagnostics = tf.plan_diagnostics()
    assert code == 1, f"bad input passed validate and plan:\n{tf.provider_log(60)}"
    line = line_of(config, blame, after='resource "strata_eks_cluster"')
    pointing = [
        d
        for d in diagnostics
        if d["severity"] == "error"
        and d.get("range", {}).get("filename") == "main.tf"
        and d["range"]["start"]["line"] == line
    ]
    assert pointing, f"no error points at {blame} (line {line}): {diagnostics}"
    assert any(mentions in f"{d['summary']} {d['detail']}" for d in pointing), pointing
    assert eks.list_clusters()["clusters"] == []
    assert role_in_moto(iam) is None
