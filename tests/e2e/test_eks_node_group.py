"""`strata_eks_node_group` end to end: real Terraform 1.15, the provider as built, moto as AWS.

Each test gets an EKS cluster made with boto3 (moto's `CreateCluster` answers `ACTIVE` at
once), on two subnets of a VPC also made with boto3, so these tests exercise the node
group alone and do not depend on `strata_eks_cluster`. What AWS holds is read back with
boto3 — `DescribeNodegroup`, and IAM for the node role the provider creates.

moto and real EKS differ in ways these tests lean on: node groups are `ACTIVE` as soon
as they are created and updates finish at once (real EKS: minutes, which the provider's
waits cover), `CreateNodegroup` ignores `updateConfig` (so `max_unavailable` is only
exercised through updates here), and `TagResource` cannot tag node groups (so tag
changes after create are not tested).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

import pytest
from botocore.exceptions import ClientError
from hcl import TERRAFORM_BLOCK, line_of, provider, value

REGION = "us-west-2"
CLUSTER = "kb-west"
GROUP = "workers"
ADDRESS = "strata_eks_node_group.workers"
HEADER = 'resource "strata_eks_node_group" "workers"'
NODE_ROLE = f"{CLUSTER}-{GROUP}-node"
NODE_POLICIES = {
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}
TRUST_EC2 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass
class Cluster:
    """The boto3-made cluster a test's node group joins, and clients to check AWS."""

    name: str
    subnet_ids: list[str]
    eks: Any
    iam: Any

    def group(self, name: str = GROUP) -> Optional[dict]:
        """`DescribeNodegroup`, or None when there is no such node group."""
        try:
            return self.eks.describe_nodegroup(clusterName=self.name, nodegroupName=name)[
                "nodegroup"
            ]
        except ClientError as e:
            if e.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise

    def role(self, name: str) -> Optional[dict]:
        try:
            return self.iam.get_role(RoleName=name)["Role"]
        except ClientError as e:
            if e.response["Error"]["Code"] == "NoSuchEntity":
                return None
            raise

    def role_policies(self, name: str) -> set[str]:
        attached = self.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        return {p["PolicyArn"] for p in attached}

    def user_role(self, name: str = "my-nodes") -> str:
        """A node role made outside Terraform (what `node_role_arn` points at)."""
        return self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_EC2)["Role"][
            "Arn"
        ]


@pytest.fixture
def cluster(moto) -> Cluster:
    ec2 = moto.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate(["us-west-2a", "us-west-2b"])
    ]
    iam = moto.client("iam", REGION)
    cluster_role = iam.create_role(
        RoleName="cluster", AssumeRolePolicyDocument=TRUST_EC2.replace("ec2.", "eks.")
    )["Role"]["Arn"]
    eks = moto.client("eks", REGION)
    eks.create_cluster(
        name=CLUSTER,
        version="1.29",
        roleArn=cluster_role,
        resourcesVpcConfig={"subnetIds": subnets},
    )
    return Cluster(CLUSTER, subnets, eks, iam)


def node_group(
    endpoint: str,
    subnet_ids: list[str],
    *,
    taints: tuple[dict, ...] = (),
    output: bool = True,
    **arguments: Any,
) -> str:
    """A root module with `strata_eks_node_group.workers` on the test cluster, and an
    output `group` holding all of it (unless `output` is false).

    `arguments` override or add arguments (None drops one); `taints` become `taint`
    blocks. One argument per line, so diagnostics can be matched to lines.
    """
    items: dict[str, Any] = {
        "cluster_name": CLUSTER,
        "name": GROUP,
        "subnet_ids": subnet_ids,
        "instance_types": ["t3.xlarge"],
        "min_size": 2,
        "max_size": 10,
        "desired_size": 3,
        **arguments,
    }
    lines = [f"  {k} = {value(v)}" for k, v in items.items() if v is not None]
    for t in taints:
        lines.append("  taint {")
        lines.extend(f"    {k} = {value(v)}" for k, v in t.items())
        lines.append("  }")
    resource = f"{HEADER} {{\n" + "\n".join(lines) + "\n}\n"
    parts = [TERRAFORM_BLOCK, provider(endpoint), resource]
    if output:
        parts.append(f'output "group" {{\n  value = {ADDRESS}\n}}\n')
    return "\n".join(parts)


DEDICATED = {"key": "dedicated", "value": "redis", "effect": "NO_SCHEDULE"}
SPOTTY = {"key": "spot", "effect": "PREFER_NO_SCHEDULE"}


def apply(tf, config: str) -> dict:
    """Plan + apply `config`; the node group's attributes from the output."""
    return tf.apply_config(config)["group"]


def taints_of(group: dict) -> list[dict]:
    return sorted(group.get("taints", []), key=lambda t: (t["key"], t["effect"]))


# ---------------------------------------------------------------------------------------
# create, read, destroy


def test_create_builds_the_group_and_its_role_then_plans_nothing(tf, moto, cluster):
    config = node_group(
        moto.url,
        cluster.subnet_ids,
        labels={"tier": "data", "team": "platform"},
        taints=(DEDICATED, SPOTTY),
        tags={"Environment": "test"},
    )
    tf.write(config)
    tf.init()
    out = apply(tf, config)

    group = cluster.group()
    assert group is not None and group["status"] == "ACTIVE"
    assert group["scalingConfig"] == {"minSize": 2, "maxSize": 10, "desiredSize": 3}
    assert group["instanceTypes"] == ["t3.xlarge"]
    assert group["capacityType"] == "ON_DEMAND"
    assert sorted(group["subnets"]) == sorted(cluster.subnet_ids)
    assert group["labels"] == {"tier": "data", "team": "platform"}
    assert taints_of(group) == [
        {"key": "dedicated", "value": "redis", "effect": "NO_SCHEDULE"},
        {"key": "spot", "effect": "PREFER_NO_SCHEDULE"},
    ]
    assert group["tags"] == {"Environment": "test"}

    # node_role_arn omitted: the provider made the role, with the three node policies.
    assert out["created_role_name"] == NODE_ROLE
    role = cluster.role(NODE_ROLE)
    assert role is not None
    assert group["nodeRole"] == role["Arn"] == out["node_role_arn"]
    assert cluster.role_policies(NODE_ROLE) == NODE_POLICIES
    assert "ec2.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"])

    assert out["id"] == f"{CLUSTER}:{GROUP}"
    assert out["arn"] == group["nodegroupArn"]
    assert out["status"] == "ACTIVE"
    assert out["region"] == REGION
    assert out["max_unavailable"] == 1
    assert out["ignore_desired_size_changes"] is False
    assert out["kubernetes_version"] == group["version"]
    assert out["release_version"] == group["releaseVersion"]
    assert out["taint"] == [
        {"key": "dedicated", "value": "redis", "effect": "NO_SCHEDULE"},
        {"key": "spot", "value": None, "effect": "PREFER_NO_SCHEDULE"},
    ]

    tf.assert_no_changes()

    tf.destroy()
    assert cluster.group() is None
    assert cluster.role(NODE_ROLE) is None, "the role the provider created must go with it"


def test_a_given_node_role_is_used_and_left_alone(tf, moto, cluster):
    role_arn = cluster.user_role()
    config = node_group(moto.url, cluster.subnet_ids, node_role_arn=role_arn)
    tf.write(config)
    tf.init()
    out = apply(tf, config)
    assert cluster.group()["nodeRole"] == role_arn
    assert out["created_role_name"] is None
    assert cluster.role(NODE_ROLE) is None
    tf.assert_no_changes()
    tf.destroy()
    assert cluster.group() is None
    assert cluster.role("my-nodes") is not None, "a role the user brought is never deleted"


def test_omitted_instance_types_are_left_to_eks(tf, moto, cluster):
    config = node_group(moto.url, cluster.subnet_ids, instance_types=None)
    tf.write(config)
    tf.init()
    out = apply(tf, config)
    assert out["instance_types"] == cluster.group()["instanceTypes"] == ["t3.medium"]
    tf.assert_no_changes()


# ---------------------------------------------------------------------------------------
# in-place updates and replacement


def test_scaling_labels_taints_and_update_config_change_in_place(tf, moto, cluster):
    tf.write(
        node_group(
            moto.url,
            cluster.subnet_ids,
            labels={"tier": "data", "old": "x"},
            taints=(DEDICATED, SPOTTY),
        )
    )
    tf.init()
    tf.plan()
    tf.apply("tfplan")
    arn_before = cluster.group()["nodegroupArn"]

    tf.write(
        node_group(
            moto.url,
            cluster.subnet_ids,
            min_size=3,
            max_size=12,
            desired_size=5,
            max_unavailable=2,
            labels={"tier": "cache", "new": "y"},
            taints=({**DEDICATED, "value": "kafka"},),
        )
    )
    tf.plan()
    assert tf.planned_actions() == {ADDRESS: ["update"]}
    text = tf.show_text()
    assert "must be replaced" not in text and "update in-place" in text
    tf.apply("tfplan")

    group = cluster.group()
    assert group["nodegroupArn"] == arn_before, "updated in place, not replaced"
    assert group["scalingConfig"] == {"minSize": 3, "maxSize": 12, "desiredSize": 5}
    assert group["labels"] == {"tier": "cache", "new": "y"}
    assert taints_of(group) == [{"key": "dedicated", "value": "kafka", "effect": "NO_SCHEDULE"}]
    assert group["updateConfig"] == {"maxUnavailable": 2}
    tf.assert_no_changes()


def test_kubernetes_version_upgrades_in_place(tf, moto, cluster):
    tf.write(node_group(moto.url, cluster.subnet_ids, kubernetes_version="1.29"))
    tf.init()
    tf.plan()
    tf.apply("tfplan")
    assert cluster.group()["version"] == "1.29"

    tf.write(node_group(moto.url, cluster.subnet_ids, kubernetes_version="1.30"))
    tf.plan()
    assert tf.planned_actions() == {ADDRESS: ["update"]}
    plan = tf.show_json("tfplan")
    after_unknown = plan["resource_changes"][0]["change"]["after_unknown"]
    assert after_unknown.get("release_version") is True, "a new version brings a new AMI"
    tf.apply("tfplan")
    assert cluster.group()["version"] == "1.30"
    tf.assert_no_changes()


def test_instance_type_change_replaces_the_group(tf, moto, cluster):
    tf.write(node_group(moto.url, cluster.subnet_ids))
    tf.init()
    tf.plan()
    tf.apply("tfplan")
    arn_before = cluster.group()["nodegroupArn"]

    tf.write(node_group(moto.url, cluster.subnet_ids, instance_types=["m5.large"]))
    tf.plan()
    assert tf.planned_actions() == {ADDRESS: ["delete", "create"]}
    assert "-/+" in tf.show_text()
    tf.apply("tfplan")
    group = cluster.group()
    assert group["instanceTypes"] == ["m5.large"]
    assert group["nodegroupArn"] != arn_before
    # The role went with the old group and came back with the new one.
    assert group["nodeRole"].endswith(f"/{NODE_ROLE}")
    assert cluster.role_policies(NODE_ROLE) == NODE_POLICIES
    tf.assert_no_changes()


# ---------------------------------------------------------------------------------------
# the desired size, owned by Terraform or by the cluster


def scale_out_of_band(cluster: Cluster, desired: int) -> None:
    """What a cluster autoscaler does: change the desired size behind Terraform's back."""
    cluster.eks.update_nodegroup_config(
        clusterName=cluster.name,
        nodegroupName=GROUP,
        scalingConfig={"desiredSize": desired},
    )


def test_desired_size_changed_out_of_band_is_planned_back_by_default(tf, moto, cluster):
    tf.write(node_group(moto.url, cluster.subnet_ids))
    tf.init()
    tf.plan()
    tf.apply("tfplan")

    scale_out_of_band(cluster, 7)
    tf.plan()
    assert tf.planned_actions() == {ADDRESS: ["update"]}
    change = tf.show_json("tfplan")["resource_changes"][0]["change"]
    assert (change["before"]["desired_size"], change["after"]["desired_size"]) == (7, 3)
    tf.apply("tfplan")
    assert cluster.group()["scalingConfig"]["desiredSize"] == 3
    tf.assert_no_changes()


def test_ignore_desired_size_changes_lets_the_cluster_own_it(tf, moto, cluster):
    def config(**arguments: Any) -> str:
        # No output of the whole group: an output showing desired_size would itself be
        # a change each time the autoscaler moves it.
        return node_group(
            moto.url,
            cluster.subnet_ids,
            output=False,
            ignore_desired_size_changes=True,
            **arguments,
        )

    tf.write(config())
    tf.init()
    tf.plan()
    tf.apply("tfplan")
    assert cluster.group()["scalingConfig"]["desiredSize"] == 3, "used at create"

    scale_out_of_band(cluster, 7)
    tf.assert_no_changes()
    # A changed desired_size in the configuration is no change either: the cluster owns it.
    tf.write(config(desired_size=4))
    tf.assert_no_changes()

    # New bounds that still hold the live size: only the bounds are sent.
    tf.write(config(max_size=20))
    tf.plan()
    assert tf.planned_actions() == {ADDRESS: ["update"]}
    change = tf.show_json("tfplan")["resource_changes"][0]["change"]
    assert change["after"]["desired_size"] == 7
    tf.apply("tfplan")
    assert cluster.group()["scalingConfig"] == {"minSize": 2, "maxSize": 20, "desiredSize": 7}
    tf.assert_no_changes()

    # Bounds that exclude the live size: the configured desired size is applied.
    tf.write(config(max_size=5))
    tf.plan()
    tf.apply("tfplan")
    assert cluster.group()["scalingConfig"] == {"minSize": 2, "maxSize": 5, "desiredSize": 3}
    tf.assert_no_changes()


# ---------------------------------------------------------------------------------------
# drift, import, partial failure


def test_group_deleted_out_of_band_is_recreated(tf, moto, cluster):
    tf.write(node_group(moto.url, cluster.subnet_ids))
    tf.init()
    tf.plan()
    tf.apply("tfplan")

    cluster.eks.delete_nodegroup(clusterName=CLUSTER, nodegroupName=GROUP)
    tf.plan()
    # The provider's node role is still there and still in state: the group is replaced
    # (the role deleted and made again with it) rather than the role orphaned.
    assert tf.planned_actions() == {ADDRESS: ["delete", "create"]}
    tf.apply("tfplan")
    group = cluster.group()
    assert group is not None and group["status"] == "ACTIVE"
    assert group["nodeRole"].endswith(f"/{NODE_ROLE}")
    tf.assert_no_changes()


def test_group_with_a_given_role_deleted_out_of_band_is_created_again(tf, moto, cluster):
    config = node_group(moto.url, cluster.subnet_ids, node_role_arn=cluster.user_role())
    tf.write(config)
    tf.init()
    tf.plan()
    tf.apply("tfplan")

    cluster.eks.delete_nodegroup(clusterName=CLUSTER, nodegroupName=GROUP)
    tf.plan()
    assert tf.planned_actions() == {ADDRESS: ["create"]}
    tf.apply("tfplan")
    assert cluster.group() is not None
    tf.assert_no_changes()


@pytest.mark.parametrize("import_id", [f"{CLUSTER}:{GROUP}", f"{REGION}/{CLUSTER}:{GROUP}"])
def test_import_of_a_group_made_outside_terraform(tf, moto, cluster, import_id):
    role_arn = cluster.user_role()
    cluster.eks.create_nodegroup(
        clusterName=CLUSTER,
        nodegroupName=GROUP,
        nodeRole=role_arn,
        subnets=cluster.subnet_ids,
        instanceTypes=["t3.xlarge"],
        scalingConfig={"minSize": 2, "maxSize": 10, "desiredSize": 3},
        labels={"tier": "data"},
        taints=[DEDICATED],
        tags={"team": "platform"},
    )
    config = node_group(
        moto.url,
        cluster.subnet_ids,
        node_role_arn=role_arn,
        labels={"tier": "data"},
        tags={"team": "platform"},
        taints=(DEDICATED,),
    )
    tf.write(config)
    tf.init()
    tf.import_(ADDRESS, import_id)
    tf.assert_no_changes()
    state = tf.show_json()["values"]["root_module"]["resources"][0]["values"]
    assert state["created_role_name"] is None, "an imported group's role is not ours"
    assert state["id"] == f"{CLUSTER}:{GROUP}"


def test_import_refuses_a_malformed_id(tf, moto, cluster):
    tf.write(node_group(moto.url, cluster.subnet_ids))
    tf.init()
    result = tf.run("import", "-no-color", "-input=false", ADDRESS, GROUP, ok=(1,))
    assert "CLUSTER:NODEGROUP" in result.stderr


def test_a_failed_create_keeps_the_role_in_state_and_destroy_removes_it(tf, moto, cluster):
    # No such cluster: the role is made, then CreateNodegroup fails.
    config = node_group(moto.url, cluster.subnet_ids, cluster_name="nosuch")
    tf.write(config)
    tf.init()
    tf.plan()
    result = tf.run("apply", "-no-color", "-input=false", "tfplan", ok=(1,))
    assert "Failed to create the node group" in result.stderr
    assert "nosuch" in result.stderr
    role = "nosuch-workers-node"
    assert cluster.role(role) is not None
    state = tf.show_json()["values"]["root_module"]["resources"][0]["values"]
    assert state["created_role_name"] == role

    tf.destroy()
    assert cluster.role(role) is None, "destroy must remove the role a failed create left"


# ---------------------------------------------------------------------------------------
# bad input


@dataclass
class Bad:
    arguments: dict
    blame: str
    mentions: tuple[str, ...]
    taints: tuple[dict, ...] = ()
    # For an argument inside a `taint` block: the line after which to look for it.
    after: str = HEADER


BAD = {
    "min_above_max": Bad({"min_size": 5, "max_size": 2, "desired_size": 3}, "min_size", ("min_size (5)", "max_size (2)")),
    "desired_below_min": Bad({"desired_size": 1}, "desired_size", ("below min_size",)),
    "desired_above_max": Bad({"desired_size": 11}, "desired_size", ("above max_size",)),
    "bad_taint_effect": Bad(
        {}, "effect", ("NoSchedule", "NO_SCHEDULE"), taints=({"key": "a", "effect": "NoSchedule"},), after="  taint {"
    ),
    "empty_subnet_list": Bad({"subnet_ids": []}, "subnet_ids", ("at least one subnet",)),
    "max_unavailable_zero": Bad({"max_unavailable": 0}, "max_unavailable", ("between 1 and 100",)),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_input_is_rejected_naming_the_argument(tf, moto, cluster, case):
    arguments = dict(case.arguments)
    subnets = arguments.pop("subnet_ids", cluster.subnet_ids)
    config = node_group(moto.url, subnets, taints=case.taints, **arguments)
    tf.write(config)
    tf.init()

    code, diagnostics = tf.validate_diagnostics()
    assert code == 1, f"bad input passed validate:\n{tf.provider_log(60)}"
    errors = [d for d in diagnostics if d.get("severity") == "error"]
    line = line_of(config, case.blame, after=case.after)
    pointing = [
        d
        for d in errors
        if d.get("range", {}).get("filename") == "main.tf" and d["range"]["start"]["line"] == line
    ]
    assert pointing, (
        f"no error points at {case.blame} (line {line}):\n"
        + "\n".join(f"- {d.get('summary')}: {d.get('detail')} @ {d.get('range')}" for d in errors)
        + f"\n----- main.tf -----\n{config}"
    )
    text = " ".join(f"{d.get('summary', '')} {d.get('detail', '')}" for d in pointing)
    assert any(m in text for m in case.mentions), f"should mention one of {case.mentions}: {text}"
    assert cluster.group() is None and cluster.role(NODE_ROLE) is None
