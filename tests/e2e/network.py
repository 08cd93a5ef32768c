"""The `strata_vpc` configurations the tests apply, and the check that moto holds that network.

`assert_network_in_moto` is the heart of the VPC tests: given what Terraform output
for a `strata_vpc`, it reads moto through boto3 and checks that AWS holds exactly the
network a user asked for, no more: one VPC, a public and a private subnet per AZ with the
EKS load-balancer tags, an attached internet gateway, NAT gateways and Elastic IPs per
the NAT mode, one public route table to the gateway and one private table per AZ.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Optional

from harness import Ec2Inventory, tags
from hcl import TERRAFORM_BLOCK, block, provider

REGION = "us-west-2"
CIDR = "10.0.0.0/16"
TWO_AZS = ["us-west-2a", "us-west-2b"]
THREE_AZS = ["us-west-2a", "us-west-2b", "us-west-2c"]
NAME = "e2e"

PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"


def carve(cidr: str, az: str) -> tuple[str, str]:
    """(private, public) CIDR the provider carves for `az` when none are given.

    The documented rule: split `cidr` into 16 equal blocks; the AZ letter picks the
    index (a→0 … h→7); private = block i, public = block 8+i. For 10.0.0.0/16:
    us-west-2a → 10.0.0.0/20 and 10.0.128.0/20.
    """
    network = ipaddress.ip_network(cidr)
    blocks = list(network.subnets(new_prefix=network.prefixlen + 4))
    i = ord(az[-1]) - ord("a")
    return str(blocks[i]), str(blocks[8 + i])


def carved(cidr: str, azs: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """({az: private cidr}, {az: public cidr}) for automatic carving."""
    return ({az: carve(cidr, az)[0] for az in azs}, {az: carve(cidr, az)[1] for az in azs})


def network_config(
    endpoint: str,
    *,
    name: str = NAME,
    cidr: str = CIDR,
    azs: Optional[list[str]] = None,
    provider_region: str = REGION,
    default_tags: Optional[dict[str, str]] = None,
    **arguments: Any,
) -> str:
    """A root module with one `strata_vpc.main` and an output `network` holding all of it.

    `arguments` are further `strata_vpc` arguments (tags, nat_gateway_mode, region…),
    rendered one per line.
    """
    resource = {
        "name": name,
        "cidr_block": cidr,
        "availability_zones": azs if azs is not None else THREE_AZS,
        **arguments,
    }
    return "\n".join(
        [
            TERRAFORM_BLOCK,
            provider(endpoint, region=provider_region, default_tags=default_tags),
            block('resource "strata_vpc" "main"', resource),
            'output "network" {\n  value = strata_vpc.main\n}\n',
        ]
    )


def _default_route(table: dict) -> Optional[dict]:
    return next(
        (r for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"),
        None,
    )


def _associated_subnets(table: dict) -> set[str]:
    return {a["SubnetId"] for a in table.get("Associations", []) if a.get("SubnetId")}


def assert_network_in_moto(
    inventory: Ec2Inventory,
    net: dict,
    *,
    cidr: str = CIDR,
    azs: Optional[list[str]] = None,
    nat_mode: str = "one_per_az",
    private: Optional[dict[str, str]] = None,
    public: Optional[dict[str, str]] = None,
    name: str = NAME,
) -> None:
    """Assert moto holds exactly the network `net` (a strata_vpc's attributes) describes."""
    azs = azs if azs is not None else THREE_AZS
    want_private, want_public = carved(cidr, azs)
    want_private = private or want_private
    want_public = public or want_public

    # The VPC: exactly one besides moto's default, with our CIDR, name and DNS options.
    vpcs = inventory.vpcs()
    assert [v["CidrBlock"] for v in vpcs] == [cidr], f"VPCs in moto: {vpcs}"
    vpc_id = vpcs[0]["VpcId"]
    assert net["id"] == vpc_id
    assert tags(vpcs[0]).get("Name", "").startswith(name), tags(vpcs[0])
    assert inventory.vpc_attribute(vpc_id, "enableDnsSupport") is True
    assert inventory.vpc_attribute(vpc_id, "enableDnsHostnames") is True

    # Subnets: one private and one public per AZ, keyed by AZ, with the EKS tags.
    subnets = inventory.subnets(vpc_id)
    by_cidr = {s["CidrBlock"]: s for s in subnets}
    assert len(subnets) == 2 * len(azs), [(s["AvailabilityZone"], s["CidrBlock"]) for s in subnets]
    assert sorted(by_cidr) == sorted([*want_private.values(), *want_public.values()])
    subnet_az = {s["SubnetId"]: s["AvailabilityZone"] for s in subnets}
    for az in azs:
        priv, pub = by_cidr[want_private[az]], by_cidr[want_public[az]]
        assert priv["AvailabilityZone"] == az and pub["AvailabilityZone"] == az
        assert tags(priv).get(INTERNAL_ELB_TAG) == "1", tags(priv)
        assert tags(pub).get(PUBLIC_ELB_TAG) == "1", tags(pub)
        assert tags(priv).get("Name", "").startswith(name), tags(priv)
        assert tags(pub).get("Name", "").startswith(name), tags(pub)
    assert net["private_subnet_ids"] == {az: by_cidr[want_private[az]]["SubnetId"] for az in azs}
    assert net["public_subnet_ids"] == {az: by_cidr[want_public[az]]["SubnetId"] for az in azs}
    assert net["private_subnet_cidrs"] == want_private
    assert net["public_subnet_cidrs"] == want_public
    public_ids = set(net["public_subnet_ids"].values())

    # Internet gateway: one, attached.
    igws = inventory.internet_gateways(vpc_id)
    assert len(igws) == 1, igws
    igw_id = igws[0]["InternetGatewayId"]
    assert net["internet_gateway_id"] == igw_id
    assert [a["State"] for a in igws[0]["Attachments"]] in (["available"], ["attached"])

    # NAT gateways and their Elastic IPs, per the NAT mode.
    nats = inventory.nat_gateways(vpc_id)
    want_nats = {"one_per_az": len(azs), "single": 1, "none": 0}[nat_mode]
    assert len(nats) == want_nats, nats
    for nat in nats:
        assert nat["State"] == "available"
        assert nat["SubnetId"] in public_ids, "a NAT gateway must sit in a public subnet"
    nat_ids = {n["NatGatewayId"] for n in nats}
    assert set((net.get("nat_gateway_ids") or {}).values()) == nat_ids
    nat_ips = {a["PublicIp"] for n in nats for a in n["NatGatewayAddresses"]}
    assert set((net.get("nat_public_ips") or {}).values()) == nat_ips
    nat_allocations = {a["AllocationId"] for n in nats for a in n["NatGatewayAddresses"]}
    assert {a["AllocationId"] for a in inventory.addresses()} == nat_allocations
    nat_by_az = {subnet_az[n["SubnetId"]]: n["NatGatewayId"] for n in nats}
    if nat_mode == "one_per_az":
        assert set(nat_by_az) == set(azs), "one NAT gateway in each AZ's public subnet"
        assert net["nat_gateway_ids"] == nat_by_az

    # Route tables: one public (0.0.0.0/0 → IGW) for all public subnets; one private
    # table per AZ whose default route goes to that AZ's NAT (or the single NAT, or nowhere).
    tables = inventory.route_tables(vpc_id)
    public_tables = [t for t in tables if (_default_route(t) or {}).get("GatewayId") == igw_id]
    assert len(public_tables) == 1, public_tables
    assert public_tables[0]["RouteTableId"] == net["public_route_table_id"]
    assert _associated_subnets(public_tables[0]) == public_ids
    private_table_ids = {}
    for az in azs:
        subnet_id = net["private_subnet_ids"][az]
        owning = [t for t in tables if subnet_id in _associated_subnets(t)]
        assert len(owning) == 1, f"{az}: private subnet in {len(owning)} route tables"
        table = owning[0]
        assert _associated_subnets(table) == {subnet_id}, "one private route table per AZ"
        private_table_ids[az] = table["RouteTableId"]
        route = _default_route(table)
        if nat_mode == "none":
            assert route is None, f"{az}: no NAT, so no default route: {route}"
        elif nat_mode == "single":
            assert route and route.get("NatGatewayId") in nat_ids, f"{az}: {route}"
        else:
            assert route and route.get("NatGatewayId") == nat_by_az[az], f"{az}: {route}"
    assert net["private_route_table_ids"] == private_table_ids
    owned = [t for t in tables if _associated_subnets(t) or _default_route(t)]
    assert len(owned) == 1 + len(azs), "no route tables beyond the public one and one per AZ"


def assert_nothing_in_moto(inventory: Ec2Inventory) -> None:
    """Nothing but moto's own default VPC: no VPC, subnet, gateway, EIP or route table of ours."""
    assert inventory.vpcs() == []
    assert inventory.subnets() == []
    assert inventory.internet_gateways() == []
    assert inventory.nat_gateways() == []
    assert inventory.addresses() == []
    assert inventory.route_tables() == []


def build_network_by_hand(
    inventory: Ec2Inventory,
    *,
    cidr: str = CIDR,
    azs: Optional[list[str]] = None,
    nat_mode: str = "one_per_az",
    name: str = NAME,
) -> dict:
    """Build with boto3 the network `strata_vpc` would build; return its attributes.

    For the harness's self-checks: `assert_network_in_moto` must accept this and reject
    it once something is broken, otherwise a green VPC test would prove nothing.
    """
    ec2 = inventory.ec2
    azs = azs if azs is not None else THREE_AZS
    private, public = carved(cidr, azs)

    vpc_tags = [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}]
    vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=vpc_tags)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    public_rt = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    net: dict[str, Any] = {
        "id": vpc_id,
        "internet_gateway_id": igw_id,
        "public_route_table_id": public_rt,
        "private_subnet_cidrs": private,
        "public_subnet_cidrs": public,
        "private_subnet_ids": {},
        "public_subnet_ids": {},
        "private_route_table_ids": {},
        "nat_gateway_ids": {},
        "nat_public_ips": {},
    }
    for az in azs:
        for kind, cidrs, tag in (
            ("private", private, INTERNAL_ELB_TAG),
            ("public", public, PUBLIC_ELB_TAG),
        ):
            subnet = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=cidrs[az],
                AvailabilityZone=az,
                TagSpecifications=[
                    {
                        "ResourceType": "subnet",
                        "Tags": [
                            {"Key": "Name", "Value": f"{name}-{kind}-{az}"},
                            {"Key": tag, "Value": "1"},
                        ],
                    }
                ],
            )["Subnet"]["SubnetId"]
            net[f"{kind}_subnet_ids"][az] = subnet
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=net["public_subnet_ids"][az])
        if nat_mode == "one_per_az" or (nat_mode == "single" and az == azs[0]):
            eip = ec2.allocate_address(Domain="vpc")
            nat = ec2.create_nat_gateway(
                SubnetId=net["public_subnet_ids"][az], AllocationId=eip["AllocationId"]
            )
            net["nat_gateway_ids"][az] = nat["NatGateway"]["NatGatewayId"]
            net["nat_public_ips"][az] = eip["PublicIp"]
        table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table, SubnetId=net["private_subnet_ids"][az])
        net["private_route_table_ids"][az] = table
        if nat_mode != "none":
            nat_id = net["nat_gateway_ids"].get(az) or next(iter(net["nat_gateway_ids"].values()))
            ec2.create_route(
                RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id
            )
    return net
