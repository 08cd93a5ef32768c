"""`strata_vpc_peering` end to end: real Terraform 1.15, the provider as built, moto as AWS.

The layout is the seed's: a `strata_vpc` in us-west-2 (10.0.0.0/16) and one in us-east-1
(10.1.0.0/16), peered across the regions with a route to the other side in every private
route table of both. What AWS holds is read back with boto3 in each region, the way a
user would check the console.

moto and real AWS differ in ways these tests lean on (see `peering/engine/connection.rs`):
moto makes a cross-region connection visible in the accepter region at once and in
`pending-acceptance` straight away (AWS: `initiating-request` first, and a moment later
in the other region), keeps routes through a deleted connection `active` (AWS:
`blackhole`) and keeps deleted connections listed as `deleted` (AWS: for a while).
"""

from __future__ import annotations

import re
from typing import Optional

import pytest
from hcl import TERRAFORM_BLOCK, line_of, provider

WEST, EAST = "us-west-2", "us-east-1"
WEST_CIDR, EAST_CIDR = "10.0.0.0/16", "10.1.0.0/16"
PEERING = "strata_vpc_peering.main"


def networks(west_cidr: str = WEST_CIDR, east_cidr: str = EAST_CIDR) -> str:
    """Two networks, two zones each. No NAT gateways: the private route tables are what
    the peering needs, and NAT gateways would only slow the tests down."""
    return f"""
resource "strata_vpc" "west" {{
  name               = "west"
  cidr_block         = "{west_cidr}"
  availability_zones = ["us-west-2a", "us-west-2b"]
  nat_gateway_mode   = "none"
}}

resource "strata_vpc" "east" {{
  name               = "east"
  region             = "{EAST}"
  cidr_block         = "{east_cidr}"
  availability_zones = ["us-east-1a", "us-east-1b"]
  nat_gateway_mode   = "none"
}}

output "west" {{
  value = strata_vpc.west
}}

output "east" {{
  value = strata_vpc.east
}}
"""


def peering(
    *,
    requester: str = "west",
    accepter: str = "east",
    requester_tables: Optional[str] = None,
    accepter_tables: Optional[str] = None,
    extra: str = "",
) -> str:
    """`strata_vpc_peering.main` between the two networks, routes in every private table
    of both unless `*_tables` say otherwise (an HCL expression)."""
    region = {"west": WEST, "east": EAST}
    requester_tables = requester_tables or f"values(strata_vpc.{requester}.private_route_table_ids)"
    accepter_tables = accepter_tables or f"values(strata_vpc.{accepter}.private_route_table_ids)"
    return f"""
resource "strata_vpc_peering" "main" {{
  requester_vpc_id          = strata_vpc.{requester}.id
  requester_region          = "{region[requester]}"
  requester_route_table_ids = {requester_tables}
  accepter_vpc_id           = strata_vpc.{accepter}.id
  accepter_region           = "{region[accepter]}"
  accepter_route_table_ids  = {accepter_tables}
{extra}
}}

output "peering" {{
  value = strata_vpc_peering.main
}}
"""


def root(moto, *parts: str) -> str:
    return "\n".join([TERRAFORM_BLOCK, provider(moto.url, region=WEST), *parts])


def changes(tf) -> dict[str, list[str]]:
    """The planned actions of the saved plan, without the resources left alone."""
    return {a: acts for a, acts in tf.planned_actions().items() if acts != ["no-op"]}


def connection(moto, region: str, pcx_id: str) -> Optional[dict]:
    found = moto.client("ec2", region).describe_vpc_peering_connections(
        VpcPeeringConnectionIds=[pcx_id]
    )["VpcPeeringConnections"]
    return found[0] if found else None


def routes_to(moto, region: str, table_id: str, destination: str) -> list[dict]:
    tables = moto.client("ec2", region).describe_route_tables(RouteTableIds=[table_id])
    return [
        r
        for t in tables["RouteTables"]
        for r in t["Routes"]
        if r.get("DestinationCidrBlock") == destination
    ]


def all_routes_to(moto, region: str, destination: str) -> list[tuple[str, dict]]:
    tables = moto.client("ec2", region).describe_route_tables()["RouteTables"]
    return [
        (t["RouteTableId"], r)
        for t in tables
        for r in t["Routes"]
        if r.get("DestinationCidrBlock") == destination
    ]


def assert_peered(moto, outputs: dict, pcx_id: Optional[str] = None) -> str:
    """moto holds an active connection between the two networks and, in every private
    route table on both sides, a route to the other side's CIDR through it."""
    west, east, peer = outputs["west"], outputs["east"], outputs["peering"]
    pcx = pcx_id or peer["id"]
    assert pcx.startswith("pcx-"), peer
    assert peer["status"] == "active"
    assert peer["requester_cidr_block"] == WEST_CIDR
    assert peer["accepter_cidr_block"] == EAST_CIDR
    for region in (WEST, EAST):
        seen = connection(moto, region, pcx)
        assert seen is not None, f"{pcx} not visible in {region}"
        assert seen["Status"]["Code"] == "active", seen["Status"]
        assert seen["RequesterVpcInfo"]["VpcId"] == west["id"]
        assert seen["AccepterVpcInfo"]["VpcId"] == east["id"]
        assert seen["AccepterVpcInfo"]["Region"] == EAST
    # DNS resolution across the peering, each side as its own region reports it.
    requester_side = connection(moto, WEST, pcx)["RequesterVpcInfo"]["PeeringOptions"]
    accepter_side = connection(moto, EAST, pcx)["AccepterVpcInfo"]["PeeringOptions"]
    assert requester_side["AllowDnsResolutionFromRemoteVpc"] is True
    assert accepter_side["AllowDnsResolutionFromRemoteVpc"] is True
    for region, net, destination in ((WEST, west, EAST_CIDR), (EAST, east, WEST_CIDR)):
        tables = sorted(net["private_route_table_ids"].values())
        assert len(tables) == 2
        for table in tables:
            routes = routes_to(moto, region, table, destination)
            assert [r.get("VpcPeeringConnectionId") for r in routes] == [pcx], (table, routes)
    assert sorted(peer["requester_route_table_ids"]) == sorted(
        west["private_route_table_ids"].values()
    )
    assert sorted(peer["accepter_route_table_ids"]) == sorted(
        east["private_route_table_ids"].values()
    )
    return pcx


def test_cross_region_peering_routes_every_private_table_on_both_sides(tf, moto):
    tf.write(root(moto, networks(), peering()))
    tf.init()
    tf.validate()
    assert tf.plan().code == 2
    tf.apply("tfplan")

    outputs = tf.outputs()
    assert_peered(moto, outputs)
    peer = outputs["peering"]
    assert peer["requester_region"] == WEST and peer["accepter_region"] == EAST
    assert peer["allow_remote_vpc_dns_resolution"] is True
    assert peer["accepter_account_id"] is None
    tf.assert_no_changes()


def test_a_route_deleted_out_of_band_is_planned_back_and_restored(tf, moto):
    tf.apply_config(root(moto, networks(), peering()))
    outputs = tf.outputs()
    pcx = outputs["peering"]["id"]
    table = sorted(outputs["east"]["private_route_table_ids"].values())[0]
    moto.client("ec2", EAST).delete_route(RouteTableId=table, DestinationCidrBlock=WEST_CIDR)
    assert routes_to(moto, EAST, table, WEST_CIDR) == []

    assert tf.plan().code == 2
    assert changes(tf) == {PEERING: ["update"]}
    assert table in tf.show_text(), "the plan shows the table whose route comes back"
    tf.apply("tfplan")

    restored = routes_to(moto, EAST, table, WEST_CIDR)
    assert [r.get("VpcPeeringConnectionId") for r in restored] == [pcx]
    assert_peered(moto, tf.outputs(), pcx)
    tf.assert_no_changes()


def test_removing_a_table_removes_only_its_route(tf, moto):
    tf.apply_config(root(moto, networks(), peering()))
    outputs = tf.outputs()
    pcx = outputs["peering"]["id"]
    east_tables = outputs["east"]["private_route_table_ids"]
    keep, drop = east_tables["us-east-1a"], east_tables["us-east-1b"]

    tf.write(
        root(
            moto,
            networks(),
            peering(accepter_tables='[strata_vpc.east.private_route_table_ids["us-east-1a"]]'),
        )
    )
    assert tf.plan().code == 2
    assert changes(tf) == {PEERING: ["update"]}
    tf.apply("tfplan")

    assert routes_to(moto, EAST, drop, WEST_CIDR) == []
    kept = routes_to(moto, EAST, keep, WEST_CIDR)
    assert [r.get("VpcPeeringConnectionId") for r in kept] == [pcx]
    assert tf.outputs()["peering"]["id"] == pcx, "the connection stays"
    tf.assert_no_changes()


def test_a_connection_deleted_out_of_band_is_recreated(tf, moto):
    tf.apply_config(root(moto, networks(), peering()))
    old = tf.outputs()["peering"]["id"]
    moto.client("ec2", WEST).delete_vpc_peering_connection(VpcPeeringConnectionId=old)

    assert tf.plan().code == 2
    assert changes(tf) == {PEERING: ["create"]}
    tf.apply("tfplan")

    outputs = tf.outputs()
    new = outputs["peering"]["id"]
    assert new != old
    # The routes left pointing at the dead connection now go through the new one.
    assert_peered(moto, outputs, new)
    tf.assert_no_changes()


def _peer_by_hand(moto, outputs: dict, requester: str) -> str:
    """What someone would do with the AWS CLI (the seed's commands), from `requester`."""
    nets = {"west": (WEST, outputs["west"]), "east": (EAST, outputs["east"])}
    accepter = "east" if requester == "west" else "west"
    (req_region, req_net), (acc_region, acc_net) = nets[requester], nets[accepter]
    req_ec2, acc_ec2 = moto.client("ec2", req_region), moto.client("ec2", acc_region)
    pcx = req_ec2.create_vpc_peering_connection(
        VpcId=req_net["id"], PeerVpcId=acc_net["id"], PeerRegion=acc_region
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    acc_ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    dns = {"AllowDnsResolutionFromRemoteVpc": True}
    req_ec2.modify_vpc_peering_connection_options(
        VpcPeeringConnectionId=pcx, RequesterPeeringConnectionOptions=dns
    )
    acc_ec2.modify_vpc_peering_connection_options(
        VpcPeeringConnectionId=pcx, AccepterPeeringConnectionOptions=dns
    )
    for ec2, net, destination in (
        (req_ec2, req_net, acc_net["cidr_block"]),
        (acc_ec2, acc_net, req_net["cidr_block"]),
    ):
        for table in net["private_route_table_ids"].values():
            ec2.create_route(
                RouteTableId=table, DestinationCidrBlock=destination, VpcPeeringConnectionId=pcx
            )
    return pcx


@pytest.mark.parametrize(
    "requester, import_id",
    [("west", "{pcx}"), ("east", "us-east-1/{pcx}")],
    ids=["from-the-provider-region", "from-another-region"],
)
def test_import_of_a_connection_made_by_hand(tf, moto, requester, import_id):
    tf.apply_config(root(moto, networks()))
    pcx = _peer_by_hand(moto, tf.outputs(), requester)

    accepter = "east" if requester == "west" else "west"
    tf.write(root(moto, networks(), peering(requester=requester, accepter=accepter)))
    tf.import_(PEERING, import_id.format(pcx=pcx))
    state = {
        r["address"]: r["values"] for r in tf.show_json()["values"]["root_module"]["resources"]
    }
    imported = state[PEERING]
    assert imported["id"] == pcx
    assert imported["status"] == "active"
    assert imported["requester_vpc_id"] == state[f"strata_vpc.{requester}"]["id"]
    assert imported["accepter_vpc_id"] == state[f"strata_vpc.{accepter}"]["id"]
    assert imported["allow_remote_vpc_dns_resolution"] is True
    assert sorted(imported["accepter_route_table_ids"]) == sorted(
        state[f"strata_vpc.{accepter}"]["private_route_table_ids"].values()
    )
    tf.assert_no_changes()


def test_destroy_removes_the_routes_then_the_connection(tf, moto):
    tf.apply_config(root(moto, networks(), peering()))
    pcx = tf.outputs()["peering"]["id"]

    # Dropping the peering from the configuration destroys it; the networks stay, so
    # their route tables show what the destroy left behind.
    tf.write(root(moto, networks()))
    assert tf.plan().code == 2
    assert changes(tf) == {PEERING: ["delete"]}
    tf.apply("tfplan")

    assert all_routes_to(moto, WEST, EAST_CIDR) == []
    assert all_routes_to(moto, EAST, WEST_CIDR) == []
    for region in (WEST, EAST):
        seen = connection(moto, region, pcx)
        assert seen is None or seen["Status"]["Code"] == "deleted", seen
    # Order, from the SDK's own request log: every DeleteRoute before the connection's delete.
    log = tf.log_path.read_text(errors="replace")
    route_deletes = [m.start() for m in re.finditer(r"rpc\.method=DeleteRoute\b", log)]
    connection_delete = log.index("rpc.method=DeleteVpcPeeringConnection")
    assert len(route_deletes) >= 4 and max(route_deletes) < connection_delete
    tf.assert_no_changes()
    tf.destroy()


def test_overlapping_networks_are_refused_at_plan(tf, moto):
    tf.apply_config(root(moto, networks(east_cidr=WEST_CIDR)))
    config = root(moto, networks(east_cidr=WEST_CIDR), peering())
    tf.write(config)

    code, diagnostics = tf.plan_diagnostics()
    assert code == 1
    errors = [d for d in diagnostics if d.get("severity") == "error"]
    line = line_of(config, "accepter_vpc_id", after='resource "strata_vpc_peering"')
    pointing = [d for d in errors if d.get("range", {}).get("start", {}).get("line") == line]
    assert pointing, f"no error at accepter_vpc_id (line {line}): {errors}"
    assert "overlap" in (pointing[0]["summary"] + pointing[0]["detail"]).lower()
    assert WEST_CIDR in pointing[0]["detail"]
    for region in (WEST, EAST):
        found = moto.client("ec2", region).describe_vpc_peering_connections()
        assert found["VpcPeeringConnections"] == [], "nothing may be created from bad input"


def test_overlapping_literal_cidrs_are_refused_at_validate(tf, moto):
    config = root(
        moto,
        """
resource "strata_vpc_peering" "main" {
  requester_vpc_id     = "vpc-0aaaaaaaaaaaaaaaa"
  requester_cidr_block = "10.0.0.0/16"
  accepter_vpc_id      = "vpc-0bbbbbbbbbbbbbbbb"
  accepter_region      = "us-east-1"
  accepter_cidr_block  = "10.0.128.0/20"
}
""",
    )
    tf.write(config)
    tf.init()
    code, diagnostics = tf.validate_diagnostics()
    assert code == 1
    line = line_of(config, "accepter_cidr_block", after='resource "strata_vpc_peering"')
    pointing = [
        d
        for d in diagnostics
        if d.get("severity") == "error" and d.get("range", {}).get("start", {}).get("line") == line
    ]
    assert pointing, f"no error at accepter_cidr_block (line {line}): {diagnostics}"
    text = (pointing[0]["summary"] + pointing[0]["detail"]).lower()
    assert "overlap" in text and "10.0.128.0/20" in text


def test_a_configured_cidr_that_is_not_the_vpcs_fails_at_apply_naming_it(tf, moto):
    tf.apply_config(root(moto, networks()))
    config = root(moto, networks(), peering(extra='  requester_cidr_block = "10.9.0.0/16"'))
    tf.write(config)
    assert tf.plan().code == 2, "a disjoint CIDR passes the plan-time overlap check"

    result = tf.run("apply", "-no-color", "-input=false", "tfplan", ok=(1,))
    line = line_of(config, "requester_cidr_block", after='resource "strata_vpc_peering"')
    assert f"main.tf line {line}" in result.stderr, result.stderr
    assert "10.9.0.0/16" in result.stderr and WEST_CIDR in result.stderr, result.stderr
    for region in (WEST, EAST):
        found = moto.client("ec2", region).describe_vpc_peering_connections()
        assert found["VpcPeeringConnections"] == [], "nothing is created"


def test_a_failed_create_saves_the_connection_and_routes_made_so_far(tf, moto):
    tf.apply_config(root(moto, networks()))
    bogus = "rtb-00000000000000000"
    config = root(
        moto,
        networks(),
        peering(
            accepter_tables=f'concat(values(strata_vpc.east.private_route_table_ids), ["{bogus}"])',
            extra='  timeouts {\n    create = "15s"\n  }',
        ),
    )
    tf.write(config)
    tf.plan()
    result = tf.run("apply", "-no-color", "-input=false", "tfplan", ok=(1,))
    assert bogus in result.stderr, result.stderr

    # The connection and the routes made before the failure are in the state...
    state = {
        r["address"]: r["values"] for r in tf.show_json()["values"]["root_module"]["resources"]
    }
    saved = state[PEERING]
    pcx = saved["id"]
    assert pcx and pcx.startswith("pcx-"), saved
    west_tables = sorted(state["strata_vpc.west"]["private_route_table_ids"].values())
    assert sorted(saved["requester_route_table_ids"]) == west_tables
    for table in west_tables:
        assert routes_to(moto, WEST, table, EAST_CIDR)[0].get("VpcPeeringConnectionId") == pcx
    assert connection(moto, WEST, pcx)["Status"]["Code"] == "active"

    # ...so destroy removes all of it.
    tf.destroy()
    assert all_routes_to(moto, WEST, EAST_CIDR) == []
    assert all_routes_to(moto, EAST, WEST_CIDR) == []
    seen = connection(moto, WEST, pcx)
    assert seen is None or seen["Status"]["Code"] == "deleted", seen


def test_dns_resolution_and_tags_update_in_place_on_both_sides(tf, moto):
    tf.apply_config(root(moto, networks(), peering(extra='  tags = { Team = "data" }')))
    pcx = tf.outputs()["peering"]["id"]
    assert connection(moto, WEST, pcx)["Tags"] == [{"Key": "Team", "Value": "data"}]

    tf.write(
        root(
            moto,
            networks(),
            peering(
                extra='  tags = { Team = "platform" }\n  allow_remote_vpc_dns_resolution = false'
            ),
        )
    )
    assert tf.plan().code == 2
    assert changes(tf) == {PEERING: ["update"]}
    tf.apply("tfplan")

    assert tf.outputs()["peering"]["id"] == pcx
    west, east = connection(moto, WEST, pcx), connection(moto, EAST, pcx)
    assert west["Tags"] == [{"Key": "Team", "Value": "platform"}]
    assert west["RequesterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is False
    assert east["AccepterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is False
    tf.assert_no_changes()

    # One side switched back on out of band is drift the next plan repairs.
    moto.client("ec2", EAST).modify_vpc_peering_connection_options(
        VpcPeeringConnectionId=pcx,
        AccepterPeeringConnectionOptions={"AllowDnsResolutionFromRemoteVpc": True},
    )
    assert tf.plan().code == 2
    assert changes(tf) == {PEERING: ["update"]}
    tf.apply("tfplan")
    east = connection(moto, EAST, pcx)
    assert east["AccepterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is False
    tf.assert_no_changes()
