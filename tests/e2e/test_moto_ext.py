"""Checks of tests/support/moto_ext.py, the EKS gap fill the harness runs moto with.

A green EKS test means what it would on AWS only if the stand-in answers like EKS, so
each operation it adds is exercised here with boto3 (which validates the response
shapes against the EKS API model), independently of the provider.
"""

import botocore.exceptions
import pytest

REGION = "us-west-2"
ROLE = "arn:aws:iam::123456789012:role/eks"


@pytest.fixture
def eks(moto):
    client = moto.client("eks", REGION)
    client.create_cluster(
        name="c1",
        version="1.30",
        roleArn=ROLE,
        resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"], "endpointPublicAccess": True},
    )
    return client


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_update_cluster_version_is_recorded_and_describable(eks):
    update = eks.update_cluster_version(name="c1", version="1.31")["update"]
    assert update["type"] == "VersionUpdate"
    assert update["status"] == "Successful"
    assert {"type": "Version", "value": "1.31"} in update["params"]
    assert eks.describe_cluster(name="c1")["cluster"]["version"] == "1.31"

    described = eks.describe_update(name="c1", updateId=update["id"])["update"]
    assert described["id"] == update["id"]
    assert described["status"] == "Successful"
    assert eks.list_updates(name="c1")["updateIds"] == [update["id"]]


@pytest.mark.parametrize("version", ["1.30", "1.29", "1.32", "banana"])
def test_update_cluster_version_refuses_what_eks_refuses(eks, version):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        eks.update_cluster_version(name="c1", version=version)
    assert error_code(excinfo) == "InvalidParameterException"
    assert eks.describe_cluster(name="c1")["cluster"]["version"] == "1.30"


def test_describe_update_of_unknown_ids_is_not_found(eks):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        eks.describe_update(name="c1", updateId="00000000-0000-0000-0000-000000000000")
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        eks.update_cluster_version(name="nosuch", version="1.31")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_update_cluster_config_merges_the_vpc_config(eks):
    # EKS changes only the fields given; moto alone would drop the subnets here.
    answer = eks.update_cluster_config(
        name="c1",
        resourcesVpcConfig={"endpointPrivateAccess": True, "publicAccessCidrs": ["10.0.0.0/8"]},
    )
    # Known, kept difference (see moto_ext's docstring): no update object in the answer.
    assert "update" not in answer
    vpc = eks.describe_cluster(name="c1")["cluster"]["resourcesVpcConfig"]
    assert vpc["subnetIds"] == ["subnet-1", "subnet-2"]
    assert vpc["endpointPublicAccess"] is True
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["publicAccessCidrs"] == ["10.0.0.0/8"]


def test_nodegroup_updates_are_describable(eks):
    eks.create_nodegroup(
        clusterName="c1",
        nodegroupName="ng",
        subnets=["subnet-1"],
        nodeRole=ROLE,
        scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2},
    )
    config = eks.update_nodegroup_config(
        clusterName="c1", nodegroupName="ng", scalingConfig={"desiredSize": 3}
    )["update"]
    described = eks.describe_update(name="c1", updateId=config["id"], nodegroupName="ng")
    assert described["update"]["status"] == "Successful"

    version = eks.update_nodegroup_version(clusterName="c1", nodegroupName="ng")["update"]
    assert version["type"] == "VersionUpdate"
    assert eks.describe_nodegroup(clusterName="c1", nodegroupName="ng")["nodegroup"]["version"] == "1.30"
    assert (
        eks.describe_update(name="c1", updateId=version["id"], nodegroupName="ng")["update"]["id"]
        == version["id"]
    )


def test_reset_forgets_updates(moto, eks):
    update = eks.update_cluster_version(name="c1", version="1.31")["update"]
    moto.reset()
    eks.create_cluster(
        name="c1", version="1.31", roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-1"]}
    )
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        eks.describe_update(name="c1", updateId=update["id"])
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_aws_managed_policies_exist(moto):
    iam = moto.client("iam", REGION)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}')
    arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [arn]
