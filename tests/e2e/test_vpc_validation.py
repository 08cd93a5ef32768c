"""Bad `strata_vpc` input fails before anything is created, and says which argument is wrong.

"Names the attribute" is checked the way a user sees it: Terraform prints a diagnostic
"on main.tf line N" with the source line, and it can only point at the offending
argument's line when the provider attached an attribute path to the diagnostic (without
one it points at the `resource` header). So the test requires an error whose range
starts on the argument's line. The message itself must mention what is wrong.

Some checks can run at `validate` (the CIDR is malformed), others need the provider's
configuration (which region?) and can only run at `plan`; either is acceptable, but the
error must come before apply, and nothing may have been created in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hcl import line_of
from network import CIDR, TWO_AZS, network_config


@dataclass
class Case:
    """One kind of bad input."""

    arguments: dict
    # Arguments the diagnostic may point at (overlap can be blamed on either map).
    blame: tuple[str, ...]
    # The message should mention at least one of these (case-insensitive).
    mentions: tuple[str, ...]
    cidr: str = CIDR
    azs: list = field(default_factory=lambda: list(TWO_AZS))


CASES = {
    "malformed_cidr": Case(
        arguments={},
        cidr="10.0.0.0/33",
        blame=("cidr_block",),
        mentions=("10.0.0.0/33", "/33", "prefix"),
    ),
    "subnet_outside_vpc_cidr": Case(
        arguments={
            "private_subnet_cidrs": {"us-west-2a": "10.0.0.0/20", "us-west-2b": "10.9.0.0/20"},
            "public_subnet_cidrs": {"us-west-2a": "10.0.128.0/20", "us-west-2b": "10.0.144.0/20"},
        },
        blame=("private_subnet_cidrs",),
        mentions=("10.9.0.0/20",),
    ),
    "overlapping_subnets": Case(
        arguments={
            "private_subnet_cidrs": {"us-west-2a": "10.0.0.0/20", "us-west-2b": "10.0.16.0/20"},
            "public_subnet_cidrs": {"us-west-2a": "10.0.8.0/24", "us-west-2b": "10.0.144.0/20"},
        },
        blame=("public_subnet_cidrs", "private_subnet_cidrs"),
        mentions=("overlap",),
    ),
    "az_outside_region": Case(
        arguments={},
        azs=["us-west-2a", "eu-west-1a"],
        blame=("availability_zones",),
        mentions=("eu-west-1a",),
    ),
    "unknown_nat_mode": Case(
        arguments={"nat_gateway_mode": "two"},
        blame=("nat_gateway_mode",),
        mentions=('"two"', "one_per_az"),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_rejected_naming_the_argument(tf, moto, ec2, case):
    config = network_config(moto.url, cidr=case.cidr, azs=case.azs, **case.arguments)
    tf.write(config)
    tf.init()

    code, diagnostics = tf.validate_diagnostics()
    stage = "validate"
    if code == 0:
        code, diagnostics = tf.plan_diagnostics()
        stage = "plan"
    assert code == 1, f"bad input passed validate and plan:\n{tf.provider_log(60)}"

    errors = [d for d in diagnostics if d.get("severity") == "error"]
    assert errors, f"{stage} failed without an error diagnostic: {diagnostics}"
    lines = {line_of(config, argument): argument for argument in case.blame}
    pointing = [
        d
        for d in errors
        if d.get("range", {}).get("filename") == "main.tf" and d["range"]["start"]["line"] in lines
    ]
    assert pointing, (
        f"no {stage} error points at {' or '.join(case.blame)} "
        f"(line {' or '.join(map(str, lines))} of main.tf):\n"
        + "\n".join(f"- {d.get('summary')}: {d.get('detail')} @ {d.get('range')}" for d in errors)
        + f"\n----- main.tf -----\n{config}"
    )
    text = " ".join(f"{d.get('summary', '')} {d.get('detail', '')}" for d in pointing).lower()
    assert any(m.lower() in text for m in case.mentions), (
        f"the message should mention one of {case.mentions}: {text}"
    )
    assert ec2.vpcs() == [], "nothing may be created from bad input"
