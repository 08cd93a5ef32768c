"""`examples/multi-region` end to end: the README's main job, applied and destroyed for real.

The example is copied as it is in the repository, next to a copy of `modules/` (it uses
the modules by relative path, `../../modules/…`), and driven the way the demo drives it
(`-var aws_endpoint=<moto>`); then boto3 checks, region by region, what a user would
check in the console: both EKS clusters ACTIVE in their own regions, both node groups
with the declared scaling and instance type, an `active` peering connection, a route to
the other network on every private route table of both sides. A second plan must be
empty, and destroy must leave nothing behind: no cluster, node group, IAM role the
provider created, peering connection, route or network.

It is the slowest test of the suite (two networks, two clusters, two node groups, a
peering, each refreshed by every command). Run it alone with

    ~/.cache/strata/venv/bin/python -m pytest tests -k multi_region
"""

from __future__ import annotations

import shutil

import pytest
from botocore.exceptions import ClientError
from harness import Ec2Inventory, Terraform, tags
from network import assert_nothing_in_moto
from strata_support import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "multi-region"

WEST, EAST = "us-west-2", "us-east-1"
CIDR = {WEST: "10.0.0.0/16", EAST: "10.1.0.0/16"}
PEER = {WEST: EAST, EAST: WEST}
AZS = {
    WEST: ["us-west-2a", "us-west-2b", "us-west-2c"],
    EAST: ["us-east-1a", "us-east-1b", "us-east-1c"],
}
CLUSTER = {WEST: "knowledgebeast-west", EAST: "knowledgebeast-east"}
NODE_GROUP = "standard-workers"
MODULES = REPO_ROOT / "modules"


# Terraform addresses of each region's resources in the example (modules keyed by region).
def vpc_address(region: str) -> str:
    return f'module.network["{region}"].strata_vpc.this'


def cluster_address(region: str) -> str:
    return f'module.eks["{region}"].strata_eks_cluster.this'


def node_group_address(region: str) -> str:
    return f'module.eks["{region}"].strata_eks_node_group.this["{NODE_GROUP}"]'


PEERING = "module.peering.strata_vpc_peering.this"

INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"


def terraform(tf: Terraform, moto, *args: str, ok=(0,)):
    """`terraform ARGS -var aws_endpoint=<moto>`, as examples/run-demo runs it."""
    return tf.run(*args, "-no-color", "-input=false", f"-var=aws_endpoint={moto.url}", ok=ok)


def state_values(tf: Terraform) -> dict[str, dict]:
    """{resource address: attributes} from the state, the modules' resources included."""
    return resources_in(tf.show_json().get("values") or {})


def resources_in(values: dict) -> dict[str, dict]:
    """{address: attributes} of every resource in `show -json`'s values, modules included."""
    found: dict[str, dict] = {}

    def walk(module: dict) -> None:
        for resource in module.get("resources", []):
            found[resource["address"]] = resource["values"]
        for child in module.get("child_modules", []):
            walk(child)

    walk(values.get("root_module", {}))
    return found


def private_route_tables(inventory: Ec2Inventory, vpc_id: str) -> dict[str, dict]:
    """{private subnet ID: the route table it is associated with}, read from EC2.

    Private subnets are found by the EKS internal-ELB tag strata_vpc puts on them, not
    by anything the provider reports, so a table the provider forgot cannot hide.
    """
    tables = inventory.route_tables(vpc_id)
    found = {}
    for subnet in inventory.subnets(vpc_id):
        if tags(subnet).get(INTERNAL_ELB_TAG) != "1":
            continue
        owning = [
            t
            for t in tables
            if any(a.get("SubnetId") == subnet["SubnetId"] for a in t.get("Associations", []))
        ]
        assert len(owning) == 1, f"{subnet['SubnetId']} is in {len(owning)} route tables"
        found[subnet["SubnetId"]] = owning[0]
    return found


def peer_routes(table: dict, cidr: str) -> list[dict]:
    return [r for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == cidr]


def cluster_names(eks) -> list[str]:
    return eks.list_clusters()["clusters"]


def role_exists(iam, name: str) -> bool:
    try:
        iam.get_role(RoleName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return False
        raise
    return True


def live_peerings(ec2) -> list[dict]:
    """Peering connections that still exist (moto, like AWS, keeps deleted ones visible)."""
    answer = ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]
    return [p for p in answer if p["Status"]["Code"] not in ("deleted", "rejected", "expired")]


def test_multi_region_example_applies_converges_and_destroys(tmp_path, workspace, moto):
    ec2 = {region: moto.client("ec2", region) for region in (WEST, EAST)}
    eks = {region: moto.client("eks", region) for region in (WEST, EAST)}
    inventory = {region: Ec2Inventory(ec2[region]) for region in (WEST, EAST)}
    iam = moto.client("iam", WEST)
    roles_before = {r["RoleName"] for r in iam.list_roles()["Roles"]}

    # The layout of the repository, so the example's `../../modules/…` sources resolve.
    shutil.copytree(MODULES, tmp_path / "modules", ignore=shutil.ignore_patterns(".terraform*"))
    tf = workspace("examples/multi-region")
    for path in EXAMPLE.glob("*.tf"):
        shutil.copy(path, tf.workdir / path.name)
    tf.config = (tf.workdir / "main.tf").read_text()  # for failure reports
    tf.init()
    tf.validate()

    assert terraform(tf, moto, "plan", "-detailed-exitcode", "-out=tfplan", ok=(2,)).code == 2
    addresses = [PEERING] + [
        address(region)
        for address in (vpc_address, cluster_address, node_group_address)
        for region in (WEST, EAST)
    ]
    assert tf.planned_actions() == {address: ["create"] for address in addresses}
    tf.apply("tfplan")

    outputs = tf.outputs()
    state = state_values(tf)
    vpc_ids = outputs["vpc_ids"]
    peering_id = outputs["peering_connection_id"]
    assert outputs["peering_status"] == "active"
    assert peering_id.startswith("pcx-")

    created_roles: set[str] = set()
    for region in (WEST, EAST):

        # The network: its VPC with the region's CIDR, private subnets in the three AZs.
        vpcs = inventory[region].vpcs()
        assert [(v["VpcId"], v["CidrBlock"]) for v in vpcs] == [(vpc_ids[region], CIDR[region])]
        private_tables = private_route_tables(inventory[region], vpc_ids[region])
        private_subnets = set(outputs["private_subnet_ids"][region].values())
        assert set(private_tables) == private_subnets
        assert set(outputs["private_subnet_ids"][region]) == set(AZS[region])

        # The cluster: ACTIVE in this region (and only there), on the private subnets.
        cluster = eks[region].describe_cluster(name=CLUSTER[region])["cluster"]
        assert cluster["status"] == "ACTIVE"
        assert cluster["arn"] == outputs["cluster_arns"][region]
        assert f":{region}:" in cluster["arn"]
        assert cluster["endpoint"] == outputs["cluster_endpoints"][region]
        assert cluster["version"] == state[cluster_address(region)]["kubernetes_version"]
        assert set(cluster["resourcesVpcConfig"]["subnetIds"]) == private_subnets
        assert cluster_names(eks[region]) == [CLUSTER[region]]
        assert cluster["tags"].get("Project") == "knowledgebeast", cluster["tags"]

        # The node group: the seed's workers, 3 of t3.xlarge, scaling 2–10, private subnets.
        assert eks[region].list_nodegroups(clusterName=CLUSTER[region])["nodegroups"] == [
            NODE_GROUP
        ]
        group = eks[region].describe_nodegroup(
            clusterName=CLUSTER[region], nodegroupName=NODE_GROUP
        )["nodegroup"]
        assert group["status"] == "ACTIVE"
        assert group["scalingConfig"] == {"minSize": 2, "maxSize": 10, "desiredSize": 3}
        assert group["instanceTypes"] == ["t3.xlarge"]
        assert set(group["subnets"]) == private_subnets
        assert group["labels"].get("knowledgebeast.io/region") == region
        assert group["version"] == cluster["version"], "the nodes follow the control plane"

        # The IAM roles the provider made (role_arn / node_role_arn omitted) exist and
        # are the ones EKS was given.
        cluster_role = state[cluster_address(region)]["created_role_name"]
        node_role = state[node_group_address(region)]["created_role_name"]
        assert cluster_role and node_role
        assert cluster["roleArn"].endswith(f"/{cluster_role}")
        assert group["nodeRole"].endswith(f"/{node_role}")
        assert role_exists(iam, cluster_role) and role_exists(iam, node_role)
        created_roles |= {cluster_role, node_role}

        # The peering, seen from this side: active, west requests, east accepts.
        answer = ec2[region].describe_vpc_peering_connections(
            VpcPeeringConnectionIds=[peering_id]
        )["VpcPeeringConnections"]
        assert len(answer) == 1
        peering = answer[0]
        assert peering["Status"]["Code"] == "active"
        assert peering["RequesterVpcInfo"]["VpcId"] == vpc_ids[WEST]
        assert peering["RequesterVpcInfo"]["Region"] == WEST
        assert peering["AccepterVpcInfo"]["VpcId"] == vpc_ids[EAST]
        assert peering["AccepterVpcInfo"]["Region"] == EAST

        # Routes: every private table reaches the other network through the peering;
        # the public table (not named in the example) does not.
        for subnet_id, table in private_tables.items():
            routes = peer_routes(table, CIDR[PEER[region]])
            assert len(routes) == 1, f"{region} {table['RouteTableId']} ({subnet_id}): {routes}"
            assert routes[0].get("VpcPeeringConnectionId") == peering_id
            assert routes[0].get("State", "active") == "active"
        private_ids = {t["RouteTableId"] for t in private_tables.values()}
        for table in inventory[region].route_tables(vpc_ids[region]):
            if table["RouteTableId"] not in private_ids:
                assert peer_routes(table, CIDR[PEER[region]]) == [], table

    assert len(created_roles) == 4, created_roles

    # Converged: planning again changes nothing and reports no drift.
    replan = terraform(tf, moto, "plan", "-detailed-exitcode", ok=(0, 1, 2))
    if replan.code != 0 or "changed outside of Terraform" in replan.stdout:
        raise AssertionError(tf.report(replan, "expected an empty plan after apply"))

    terraform(tf, moto, "destroy", "-auto-approve")

    # Nothing is left: clusters, node groups, the provider's roles, the peering (gone or
    # `deleted`), the routes and both networks.
    for region in (WEST, EAST):
        assert cluster_names(eks[region]) == [], region
        with pytest.raises(ClientError) as gone:
            eks[region].describe_nodegroup(clusterName=CLUSTER[region], nodegroupName=NODE_GROUP)
        assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert live_peerings(ec2[region]) == [], region
        for table in ec2[region].describe_route_tables()["RouteTables"]:
            assert not any(r.get("VpcPeeringConnectionId") for r in table.get("Routes", [])), table
        assert_nothing_in_moto(inventory[region])
    assert not any(role_exists(iam, name) for name in created_roles)
    assert {r["RoleName"] for r in iam.list_roles()["Roles"]} == roles_before
    assert state_values(tf) == {}, "destroy left resources in the state"
