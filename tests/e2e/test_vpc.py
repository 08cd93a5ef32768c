"""`strata_vpc` end to end: real Terraform 1.15, the provider as built, moto as AWS.

Each test is something a user would do and checks what they would notice: the exit
code and plan Terraform shows, the objects in AWS (read with boto3), the outputs.
"""

from __future__ import annotations

import shutil

import pytest
from harness import Ec2Inventory, tags
from network import (
    CIDR,
    NAME,
    REGION,
    THREE_AZS,
    TWO_AZS,
    assert_network_in_moto,
    assert_nothing_in_moto,
    carved,
    network_config,
)
from strata_support import REPO_ROOT

VPC = "strata_vpc.main"


def test_three_az_network_with_a_nat_gateway_per_az(tf, moto, ec2):
    tf.write(network_config(moto.url, azs=THREE_AZS, nat_gateway_mode="one_per_az"))
    tf.init()
    tf.validate()

    assert tf.plan().code == 2
    assert tf.planned_actions() == {VPC: ["create"]}
    tf.apply("tfplan")

    net = tf.outputs()["network"]
    assert_network_in_moto(ec2, net, azs=THREE_AZS, nat_mode="one_per_az")
    assert net["region"] == REGION
    assert net["nat_gateway_mode"] == "one_per_az"
    assert set(net["availability_zones"]) == set(THREE_AZS)
    # The carving rule the docs promise, spelled out for 10.0.0.0/16.
    assert net["private_subnet_cidrs"] == {
        "us-west-2a": "10.0.0.0/20",
        "us-west-2b": "10.0.16.0/20",
        "us-west-2c": "10.0.32.0/20",
    }
    assert net["public_subnet_cidrs"] == {
        "us-west-2a": "10.0.128.0/20",
        "us-west-2b": "10.0.144.0/20",
        "us-west-2c": "10.0.160.0/20",
    }
    # State and outputs agree.
    state = tf.show_json()["values"]["root_module"]["resources"]
    assert [(r["address"], r["values"]["id"]) for r in state] == [(VPC, net["id"])]


def test_plan_right_after_apply_has_no_changes(tf, moto):
    tf.apply_config(network_config(moto.url))
    tf.assert_no_changes()


def test_changing_tags_updates_in_place(tf, moto, ec2):
    before = tf.apply_config(network_config(moto.url, azs=TWO_AZS, tags={"Team": "data"}))[
        "network"
    ]

    tf.write(network_config(moto.url, azs=TWO_AZS, tags={"Team": "platform", "CostCenter": "42"}))
    assert tf.plan().code == 2
    assert tf.planned_actions() == {VPC: ["update"]}
    tf.apply("tfplan")

    after = tf.outputs()["network"]
    assert after["id"] == before["id"]
    assert after["private_subnet_ids"] == before["private_subnet_ids"]
    vpc_tags = tags(ec2.vpc_by_id(after["id"]))
    assert vpc_tags["Team"] == "platform"
    assert vpc_tags["CostCenter"] == "42"
    assert vpc_tags["Name"].startswith(NAME)
    tf.assert_no_changes()


def test_changing_cidr_block_replaces_the_network(tf, moto, ec2):
    before = tf.apply_config(network_config(moto.url, azs=TWO_AZS, cidr="10.0.0.0/16"))["network"]

    tf.write(network_config(moto.url, azs=TWO_AZS, cidr="10.3.0.0/16"))
    assert tf.plan().code == 2
    assert tf.planned_actions() == {VPC: ["delete", "create"]}
    shown = tf.show_text()
    assert "-/+" in shown and "must be replaced" in shown, shown
    tf.apply("tfplan")

    after = tf.outputs()["network"]
    assert after["id"] != before["id"]
    assert ec2.vpc_by_id(before["id"]) is None, "the old VPC is gone"
    assert_network_in_moto(ec2, after, cidr="10.3.0.0/16", azs=TWO_AZS)
    tf.assert_no_changes()


def test_adding_an_az_creates_only_that_azs_subnets_and_nat(tf, moto, ec2):
    before = tf.apply_config(network_config(moto.url, azs=TWO_AZS))["network"]

    tf.write(network_config(moto.url, azs=THREE_AZS))
    assert tf.plan().code == 2
    assert tf.planned_actions() == {VPC: ["update"]}, "adding an AZ must not replace the network"
    tf.apply("tfplan")

    after = tf.outputs()["network"]
    assert_network_in_moto(ec2, after, azs=THREE_AZS)
    assert after["id"] == before["id"]
    assert after["internet_gateway_id"] == before["internet_gateway_id"]
    assert after["public_route_table_id"] == before["public_route_table_id"]
    for key in (
        "public_subnet_ids",
        "private_subnet_ids",
        "nat_gateway_ids",
        "nat_public_ips",
        "private_route_table_ids",
    ):
        kept = {az: after[key][az] for az in TWO_AZS}
        assert kept == before[key], f"{key} of the existing AZs changed"
        assert "us-west-2c" in after[key]
    tf.assert_no_changes()


def test_tags_that_kubernetes_adds_are_not_drift(tf, moto, ec2):
    net = tf.apply_config(network_config(moto.url, azs=TWO_AZS))["network"]

    owned = [net["id"], *net["public_subnet_ids"].values(), *net["private_subnet_ids"].values()]
    ec2.ec2.create_tags(
        Resources=owned,
        Tags=[
            {"Key": "kubernetes.io/cluster/x", "Value": "shared"},
            {"Key": "kubernetes.io/cluster/other", "Value": "owned"},
        ],
    )
    tf.assert_no_changes()


def test_network_deleted_out_of_band_is_recreated(tf, moto, ec2):
    before = tf.apply_config(network_config(moto.url))["network"]
    ec2.delete_network(before["id"])
    assert ec2.vpcs() == []

    assert tf.plan().code == 2
    assert tf.planned_actions() == {VPC: ["create"]}
    tf.apply("tfplan")

    after = tf.outputs()["network"]
    assert after["id"] != before["id"]
    assert_network_in_moto(ec2, after)
    tf.assert_no_changes()


@pytest.mark.parametrize("how", ["import_block", "import_command"])
def test_import_adopts_an_existing_network(tf, workspace, moto, ec2, how):
    config = network_config(moto.url, tags={"Team": "data"})
    original = tf.apply_config(config)["network"]

    # Another working directory (another state) adopts the same network by VPC ID.
    adopter = workspace("adopter")
    if how == "import_block":
        adopter.write(config + f'\nimport {{\n  to = {VPC}\n  id = "{original["id"]}"\n}}\n')
        adopter.init()
        adopter.plan()
        plan = adopter.show_json("tfplan")
        (change,) = [rc for rc in plan["resource_changes"] if rc["address"] == VPC]
        assert change["change"]["actions"] == ["no-op"], change["change"]
        assert change["change"]["importing"]["id"] == original["id"]
        adopter.apply("tfplan")
    else:
        adopter.write(config)
        adopter.init()
        adopter.import_(VPC, original["id"])

    adopter.assert_no_changes()
    adopted = adopter.show_json()["values"]["root_module"]["resources"][0]["values"]
    for key in (
        "id",
        "public_subnet_ids",
        "private_subnet_ids",
        "nat_gateway_ids",
        "nat_public_ips",
        "internet_gateway_id",
        "public_route_table_id",
        "private_route_table_ids",
        "public_subnet_cidrs",
        "private_subnet_cidrs",
    ):
        assert adopted[key] == original[key], f"import did not recover {key}"
    assert_network_in_moto(ec2, adopted)


def test_destroy_leaves_nothing_behind(tf, moto, ec2):
    tf.apply_config(network_config(moto.url))
    tf.destroy()
    assert_nothing_in_moto(ec2)
    state = tf.show_json().get("values") or {}
    assert state.get("root_module", {}).get("resources", []) == [], "state still holds resources"


def test_single_nat_gateway_and_explicit_subnet_cidrs(tf, moto, ec2):
    private = {
        "us-west-2a": "10.0.1.0/24",
        "us-west-2b": "10.0.2.0/24",
        "us-west-2c": "10.0.3.0/24",
    }
    public = {
        "us-west-2a": "10.0.101.0/24",
        "us-west-2b": "10.0.102.0/24",
        "us-west-2c": "10.0.103.0/24",
    }
    net = tf.apply_config(
        network_config(
            moto.url,
            nat_gateway_mode="single",
            private_subnet_cidrs=private,
            public_subnet_cidrs=public,
        )
    )["network"]
    assert_network_in_moto(ec2, net, nat_mode="single", private=private, public=public)
    tf.assert_no_changes()


def test_no_nat_gateways(tf, moto, ec2):
    net = tf.apply_config(network_config(moto.url, azs=TWO_AZS, nat_gateway_mode="none"))["network"]
    assert_network_in_moto(ec2, net, azs=TWO_AZS, nat_mode="none")
    tf.assert_no_changes()


def test_default_tags_reach_aws_and_tags_all(tf, moto, ec2):
    net = tf.apply_config(
        network_config(
            moto.url,
            azs=TWO_AZS,
            nat_gateway_mode="none",
            default_tags={"Environment": "e2e", "Team": "default"},
            tags={"Team": "data"},
        )
    )["network"]
    assert net["tags_all"]["Environment"] == "e2e"
    assert net["tags_all"]["Team"] == "data", "resource tags win over default_tags"
    vpc_tags = tags(ec2.vpc_by_id(net["id"]))
    assert vpc_tags["Environment"] == "e2e"
    assert vpc_tags["Team"] == "data"
    tf.assert_no_changes()


def test_region_argument_places_the_network_in_another_region(tf, moto, ec2):
    azs = ["us-east-1a", "us-east-1b"]
    net = tf.apply_config(
        network_config(moto.url, azs=azs, region="us-east-1", nat_gateway_mode="none")
    )["network"]
    assert net["region"] == "us-east-1"
    assert ec2.vpcs() == [], f"nothing in the provider's region {REGION}"
    east = Ec2Inventory(moto.client("ec2", "us-east-1"))
    assert_network_in_moto(east, net, azs=azs, nat_mode="none")
    tf.assert_no_changes()


def test_example_network_applies(tf, moto, ec2):
    """examples/network, as the README's demo runs it, builds the seed's us-west-2 network."""
    for file in (REPO_ROOT / "examples" / "network").glob("*.tf"):
        shutil.copy(file, tf.workdir / file.name)
    tf.init()
    tf.validate()
    tf.run("apply", "-no-color", "-input=false", "-auto-approve", f"-var=aws_endpoint={moto.url}")
    outputs = tf.outputs()
    private, public = carved("10.0.0.0/16", THREE_AZS)
    assert outputs["private_subnet_cidrs"] == private
    assert outputs["public_subnet_cidrs"] == public
    assert len(outputs["nat_public_ips"]) == 3
    assert [v["CidrBlock"] for v in ec2.vpcs()] == [CIDR]


def test_failed_create_keeps_what_it_made_so_destroy_removes_it(tf, moto, ec2):
    # moto refuses subnets in a zone that does not exist, so the create fails half-way
    # through, after the VPC, internet gateway and the first zone's objects exist.
    azs = ["us-west-2a", "us-west-2z"]
    private = {"us-west-2a": "10.0.0.0/20", "us-west-2z": "10.0.16.0/20"}
    public = {"us-west-2a": "10.0.128.0/20", "us-west-2z": "10.0.144.0/20"}
    tf.write(
        network_config(moto.url, azs=azs, private_subnet_cidrs=private, public_subnet_cidrs=public)
    )
    tf.init()
    failed = tf.run("apply", "-auto-approve", "-input=false", "-no-color", ok=(1,))
    assert "Failed to create the network" in failed.stderr, failed.stderr

    # Everything AWS made is in the state (tainted), not orphaned.
    state = tf.show_json()["values"]["root_module"]["resources"]
    assert [r["address"] for r in state] == [VPC]
    recorded = state[0]["values"]
    made = ec2.vpcs()
    assert [v["VpcId"] for v in made] == [recorded["id"]]
    assert recorded["internet_gateway_id"], "the internet gateway made before the failure is recorded"
    # The next plan replaces the half-made (tainted) network rather than adopting it.
    assert tf.plan().code == 2
    assert tf.planned_actions() == {VPC: ["delete", "create"]}

    tf.destroy()
    assert_nothing_in_moto(ec2)
