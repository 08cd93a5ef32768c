"""Drive real Terraform in a working directory, and read back what it built in moto.

`Terraform` runs the launcher (`tests/bin/terraform`, Terraform 1.15) as a subprocess,
one process per command, exactly as a user's shell would. A failing command raises
`TerraformFailed` with everything needed to debug it without re-running: the command,
exit code, stdout, stderr and the tail of the provider's own log (TF_LOG_PROVIDER=DEBUG
into `terraform.log` in the working directory, which pytest keeps after the run).

`Ec2Inventory` answers "what is in AWS now?" through boto3, the way a user would check
the console, so assertions do not depend on anything the provider says about itself.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from strata_support import LAUNCHER

# Generous: a command that takes this long against moto is hung, not slow.
COMMAND_TIMEOUT = 600


@dataclass
class Result:
    """What a terraform command did: its exit code and output."""

    args: list[str]
    code: int
    stdout: str
    stderr: str


class TerraformFailed(AssertionError):
    """A terraform command exited with a code the test did not expect."""


class Terraform:
    """One Terraform working directory (root module + state), like a user's checkout."""

    def __init__(self, workdir: Path, env: dict):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "terraform.log"
        self.env = dict(env)
        self.env.setdefault("TF_LOG_PROVIDER", "DEBUG")
        self.env.setdefault("TF_LOG_PATH", str(self.log_path))
        self.config = ""

    # -- configuration ---------------------------------------------------------------

    def write(self, config: str, name: str = "main.tf") -> None:
        """Replace the configuration file `name` with `config`."""
        if name == "main.tf":
            self.config = config
        (self.workdir / name).write_text(config)

    # -- running ---------------------------------------------------------------------

    def run(self, *args: str, ok: Optional[Iterable[int]] = (0,)) -> Result:
        """Run `terraform ARGS…`; raise TerraformFailed unless the exit code is in `ok`.

        `ok=None` accepts any exit code (the caller inspects `Result.code`).
        """
        __tracebackhide__ = True  # pytest: show the test's line, not this helper's
        cmd = [str(LAUNCHER), *args]
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TerraformFailed(
                self.report(
                    Result(list(args), -1, _text(exc.stdout), _text(exc.stderr)),
                    f"timed out after {COMMAND_TIMEOUT}s",
                )
            ) from None
        result = Result(list(args), proc.returncode, proc.stdout, proc.stderr)
        if ok is not None and result.code not in tuple(ok):
            raise TerraformFailed(
                self.report(result, f"exit code {result.code}, expected {tuple(ok)}")
            )
        return result

    def report(self, result: Result, why: str) -> str:
        """A failure report: command, output, and the provider log's tail."""
        return "\n".join(
            [
                f"`terraform {' '.join(result.args)}` in {self.workdir}: {why}",
                "----- main.tf -----",
                self.config.rstrip(),
                "----- stdout (tail) -----",
                _tail(result.stdout, 80),
                "----- stderr -----",
                _tail(result.stderr, 200),
                f"----- provider log {self.log_path} (tail) -----",
                self.provider_log(150),
            ]
        )

    def provider_log(self, lines: int = 150) -> str:
        """The last `lines` lines of the provider log (TF_LOG_PROVIDER=DEBUG)."""
        try:
            return _tail(self.log_path.read_text(errors="replace"), lines)
        except FileNotFoundError:
            return "(no provider log written)"

    # -- the commands tests use ------------------------------------------------------

    def init(self) -> Result:
        return self.run("init", "-no-color", "-input=false")

    def validate(self, ok: Optional[Iterable[int]] = (0,)) -> Result:
        return self.run("validate", "-no-color", ok=ok)

    def validate_diagnostics(self) -> tuple[int, list[dict]]:
        """`validate -json`: (exit code, diagnostics as Terraform reports them)."""
        result = self.run("validate", "-json", ok=(0, 1))
        return result.code, json.loads(result.stdout).get("diagnostics", [])

    def plan(self, out: Optional[str] = "tfplan", ok: Optional[Iterable[int]] = (0, 2)) -> Result:
        """`plan -detailed-exitcode`: 0 = no changes, 1 = error, 2 = changes."""
        args = ["plan", "-no-color", "-input=false", "-detailed-exitcode"]
        if out:
            args.append(f"-out={out}")
        return self.run(*args, ok=ok)

    def plan_diagnostics(self) -> tuple[int, list[dict]]:
        """`plan -json`: (exit code, diagnostics from the machine-readable UI stream)."""
        result = self.run("plan", "-json", "-input=false", ok=None)
        diagnostics = []
        for line in result.stdout.splitlines():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message.get("type") == "diagnostic":
                diagnostics.append(message["diagnostic"])
        return result.code, diagnostics

    def apply(self, plan_file: Optional[str] = None) -> Result:
        args = ["apply", "-no-color", "-input=false", "-auto-approve"]
        if plan_file:
            args.append(plan_file)
        return self.run(*args)

    def destroy(self) -> Result:
        return self.run("destroy", "-no-color", "-input=false", "-auto-approve")

    def import_(self, address: str, resource_id: str) -> Result:
        return self.run("import", "-no-color", "-input=false", address, resource_id)

    def show_json(self, plan_file: Optional[str] = None) -> dict:
        """`show -json` of the state, or of a saved plan."""
        args = ["show", "-json"] + ([plan_file] if plan_file else [])
        return json.loads(self.run(*args).stdout)

    def show_text(self, plan_file: str = "tfplan") -> str:
        """The human rendering of a saved plan (what a reviewer reads)."""
        return self.run("show", "-no-color", plan_file).stdout

    def outputs(self) -> dict:
        """`output -json`, reduced to {name: value}."""
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: out["value"] for name, out in raw.items()}

    # -- conveniences ----------------------------------------------------------------

    def planned_actions(self, plan_file: str = "tfplan") -> dict[str, list[str]]:
        """{resource address: actions} from a saved plan, e.g. {"strata_vpc.main": ["update"]}."""
        plan = self.show_json(plan_file)
        return {rc["address"]: rc["change"]["actions"] for rc in plan.get("resource_changes", [])}

    def apply_config(self, config: str) -> dict:
        """Write `config`, plan it, apply that plan and return the outputs."""
        self.write(config)
        self.plan()
        self.apply("tfplan")
        return self.outputs()

    def assert_no_changes(self) -> Result:
        """A fresh plan must say "No changes" (exit code 0) and report no drift."""
        __tracebackhide__ = True
        result = self.run("plan", "-no-color", "-input=false", "-detailed-exitcode", ok=None)
        if result.code != 0:
            raise TerraformFailed(self.report(result, "expected no changes (exit code 0)"))
        if "changed outside of Terraform" in result.stdout:
            raise TerraformFailed(self.report(result, "plan reports drift"))
        return result


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def _tail(text: str, lines: int) -> str:
    parts = text.splitlines()
    skipped = len(parts) - lines
    head = [f"… ({skipped} earlier lines)"] if skipped > 0 else []
    return "\n".join(head + parts[-lines:])


# ---------------------------------------------------------------------------------------
# What is in moto


def tags(obj: dict) -> dict[str, str]:
    """An EC2 object's tags as a dict."""
    return {t["Key"]: t["Value"] for t in obj.get("Tags", []) or []}


class Ec2Inventory:
    """Read the EC2 objects of one region straight from moto, for assertions."""

    def __init__(self, ec2):
        self.ec2 = ec2

    def vpcs(self) -> list[dict]:
        """Every VPC except moto's default VPC (which moto creates by itself)."""
        return [v for v in self.ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]

    def vpc_by_id(self, vpc_id: str) -> Optional[dict]:
        return next((v for v in self.ec2.describe_vpcs()["Vpcs"] if v["VpcId"] == vpc_id), None)

    def vpc_attribute(self, vpc_id: str, name: str) -> bool:
        """EnableDnsSupport / EnableDnsHostnames of a VPC."""
        answer = self.ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=name)
        key = name[0].upper() + name[1:]
        return answer[key]["Value"]

    def subnets(self, vpc_id: Optional[str] = None) -> list[dict]:
        """Subnets of `vpc_id`, or of every non-default VPC."""
        if vpc_id:
            return self._all("describe_subnets", "Subnets", Filters=[_vpc_filter(vpc_id)])
        default_ids = {v["VpcId"] for v in self.ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")}
        return [
            s for s in self._all("describe_subnets", "Subnets") if s["VpcId"] not in default_ids
        ]

    def internet_gateways(self, vpc_id: Optional[str] = None) -> list[dict]:
        filters = [{"Name": "attachment.vpc-id", "Values": [vpc_id]}] if vpc_id else []
        return self._all("describe_internet_gateways", "InternetGateways", Filters=filters)

    def nat_gateways(self, vpc_id: Optional[str] = None) -> list[dict]:
        """NAT gateways that exist (moto keeps deleted ones around in state 'deleted')."""
        filters = [_vpc_filter(vpc_id)] if vpc_id else []
        gateways = self._all("describe_nat_gateways", "NatGateways", Filter=filters)
        return [n for n in gateways if n["State"] not in ("deleted", "deleting")]

    def addresses(self) -> list[dict]:
        """Allocated Elastic IPs."""
        return self.ec2.describe_addresses()["Addresses"]

    def route_tables(self, vpc_id: Optional[str] = None) -> list[dict]:
        """Route tables of `vpc_id`, or of every non-default VPC."""
        if vpc_id:
            return self._all("describe_route_tables", "RouteTables", Filters=[_vpc_filter(vpc_id)])
        default_ids = {v["VpcId"] for v in self.ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault")}
        return [
            r
            for r in self._all("describe_route_tables", "RouteTables")
            if r["VpcId"] not in default_ids
        ]

    def _all(self, method: str, key: str, **kwargs) -> list[dict]:
        kwargs = {k: v for k, v in kwargs.items() if v}
        paginator = self.ec2.get_paginator(method)
        return [item for page in paginator.paginate(**kwargs) for item in page[key]]

    def delete_network(self, vpc_id: str) -> None:
        """Tear a network down by hand, in the order AWS requires (an out-of-band delete)."""
        nats = self.nat_gateways(vpc_id)
        for nat in nats:
            self.ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
        for nat in nats:
            for address in nat.get("NatGatewayAddresses", []):
                if address.get("AllocationId"):
                    self.ec2.release_address(AllocationId=address["AllocationId"])
        for table in self.route_tables(vpc_id):
            if any(a.get("Main") for a in table.get("Associations", [])):
                continue  # the main table goes with the VPC
            for assoc in table.get("Associations", []):
                self.ec2.disassociate_route_table(AssociationId=assoc["RouteTableAssociationId"])
            self.ec2.delete_route_table(RouteTableId=table["RouteTableId"])
        for igw in self.internet_gateways(vpc_id):
            self.ec2.detach_internet_gateway(
                InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc_id
            )
            self.ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
        for subnet in self.subnets(vpc_id):
            self.ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        self.ec2.delete_vpc(VpcId=vpc_id)


def _vpc_filter(vpc_id: str) -> dict:
    return {"Name": "vpc-id", "Values": [vpc_id]}
