"""Checks of the test harness itself, so a red e2e test means the product, not the rig.

None of these needs the provider: they exercise the Terraform launcher and moto.
"""

import json
import subprocess

import pytest
from harness import Terraform
from hcl import Block
from network import (
    assert_network_in_moto,
    assert_nothing_in_moto,
    build_network_by_hand,
    network_config,
)
from strata_support import LAUNCHER, terraform_env


def test_launcher_is_terraform_1_15(plain_cli_config):
    out = subprocess.run(
        [str(LAUNCHER), "version", "-json"],
        env=terraform_env(plain_cli_config),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["terraform_version"].startswith("1.15.")


def test_launcher_passes_exit_codes_and_stderr(tmp_path, plain_cli_config):
    tf = Terraform(tmp_path, terraform_env(plain_cli_config))
    bad = tf.run("no-such-command", ok=None)
    assert bad.code == 1
    assert 'no command named "no-such-command"' in bad.stderr
    # -detailed-exitcode's 2 must come through untouched: the tests rely on it.
    tf.write('output "answer" {\n  value = 42\n}\n')
    assert tf.plan(out=None).code == 2


def test_init_and_validate_a_configuration_without_providers(tmp_path, plain_cli_config):
    tf = Terraform(tmp_path, terraform_env(plain_cli_config))
    tf.write('output "answer" {\n  value = 42\n}\n')
    tf.init()
    assert "Success! The configuration is valid." in tf.validate().stdout
    tf.apply()
    assert tf.outputs() == {"answer": 42}


def test_validate_reports_diagnostics_with_lines(tmp_path, plain_cli_config):
    """The validation tests read diagnostic ranges from `validate -json`; check the shape."""
    tf = Terraform(tmp_path, terraform_env(plain_cli_config))
    tf.write('locals {\n  a = 1\n}\n\noutput "x" {\n  value = nosuch.thing\n}\n')
    code, diagnostics = tf.validate_diagnostics()
    assert code == 1
    error = next(d for d in diagnostics if d["severity"] == "error")
    assert error["range"]["filename"] == "main.tf"
    assert error["range"]["start"]["line"] == 6


def test_moto_reset_isolates_tests(moto):
    ec2 = moto.client("ec2", "us-west-2")
    ec2.create_vpc(CidrBlock="10.42.0.0/16")
    cidrs = {v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert "10.42.0.0/16" in cidrs
    moto.reset()
    cidrs = {v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert "10.42.0.0/16" not in cidrs


@pytest.mark.parametrize("nat_mode", ["one_per_az", "single", "none"])
def test_network_check_accepts_a_correct_network(ec2, nat_mode):
    net = build_network_by_hand(ec2, nat_mode=nat_mode)
    assert_network_in_moto(ec2, net, nat_mode=nat_mode)


def test_network_check_rejects_a_missing_nat_route(ec2):
    net = build_network_by_hand(ec2)
    ec2.ec2.delete_route(
        RouteTableId=net["private_route_table_ids"]["us-west-2b"], DestinationCidrBlock="0.0.0.0/0"
    )
    with pytest.raises(AssertionError, match="us-west-2b"):
        assert_network_in_moto(ec2, net)


def test_network_check_rejects_a_subnet_without_its_elb_tag(ec2):
    net = build_network_by_hand(ec2)
    ec2.ec2.delete_tags(
        Resources=[net["public_subnet_ids"]["us-west-2c"]], Tags=[{"Key": "kubernetes.io/role/elb"}]
    )
    with pytest.raises(AssertionError):
        assert_network_in_moto(ec2, net)


def test_out_of_band_delete_leaves_nothing(ec2):
    net = build_network_by_hand(ec2)
    ec2.delete_network(net["id"])
    assert_nothing_in_moto(ec2)


def test_plan_helpers_read_actions_and_replacements(tmp_path, plain_cli_config):
    """planned_actions / show_text / assert_no_changes, on Terraform's built-in terraform_data."""
    tf = Terraform(tmp_path, terraform_env(plain_cli_config))
    resource = (
        'resource "terraform_data" "x" {{\n'
        '  input            = "{input}"\n'
        '  triggers_replace = ["{trigger}"]\n'
        "}}\n"
    )
    tf.write(resource.format(input="a", trigger="1"))
    tf.init()
    assert tf.plan().code == 2
    assert tf.planned_actions() == {"terraform_data.x": ["create"]}
    tf.apply("tfplan")
    tf.assert_no_changes()

    tf.write(resource.format(input="b", trigger="1"))
    tf.plan()
    assert tf.planned_actions() == {"terraform_data.x": ["update"]}

    tf.write(resource.format(input="a", trigger="2"))
    tf.plan()
    assert tf.planned_actions() == {"terraform_data.x": ["delete", "create"]}
    assert "-/+" in tf.show_text() and "must be replaced" in tf.show_text()

    tf.destroy()
    state = tf.show_json().get("values") or {}
    assert state.get("root_module", {}).get("resources", []) == []


def test_generated_configurations_are_valid_hcl(tmp_path, plain_cli_config):
    """Every configuration the VPC tests write parses, and is formatted as `terraform fmt` would."""
    from test_vpc_validation import CASES

    endpoint = "http://127.0.0.1:1"
    configs = [
        network_config(endpoint, nat_gateway_mode="single", tags={"Team": "data", "${x}": "%{y}"}),
        network_config(
            endpoint,
            default_tags={"Environment": "e2e"},
            region="us-east-1",
            timeouts=Block({"create": "10m", "delete": "10m"}),
        ),
        *(network_config(endpoint, cidr=c.cidr, azs=c.azs, **c.arguments) for c in CASES.values()),
    ]
    for config in configs:
        out = subprocess.run(
            [str(LAUNCHER), "fmt", "-check", "-diff", "-"],
            input=config,
            env=terraform_env(plain_cli_config),
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, f"{out.stderr}{out.stdout}\n{config}"
