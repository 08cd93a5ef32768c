"""The Terraform modules in `modules/`: their own `terraform test` files, run for real.

Each module's `tests/*.tftest.hcl` applies the module against moto with assertions on
its outputs (`command = apply`) and proves its validation blocks refuse bad input
(`command = plan` with `expect_failures`). This test runs `terraform init` and
`terraform test -var aws_endpoint=<moto>` in a copy of `modules/` (the test files use
`../network` to build what a module needs), with the freshly built provider, and
requires every run block to pass: a run that is skipped or was never reached counts as
a failure. Afterwards moto must be empty again, since `terraform test` destroys what it
created.

Each README's example is applied as written, from a configuration at the root of a copy
of the repository's layout (its `source = "./modules/…"` paths), with the provider
pointed at moto by an override file; a second plan must be empty, and destroy must
leave nothing. The module sources are checked for what the READMEs promise: every
variable and output has a description and appears in the README's tables.
"""

from __future__ import annotations

import re
import shutil

import pytest
from harness import Ec2Inventory, Terraform
from network import assert_nothing_in_moto
from strata_support import REPO_ROOT, terraform_env

MODULES_DIR = REPO_ROOT / "modules"
# Every module (a directory of modules/ holding .tf files), so a new one is tested too.
MODULES = sorted(p.name for p in MODULES_DIR.iterdir() if p.is_dir() and any(p.glob("*.tf")))
# Regions the test files build in.
REGIONS = ["us-west-2", "us-east-1"]

RUN_BLOCK = re.compile(r'^run\s+"([^"]+)"', re.MULTILINE)
SUMMARY = re.compile(r"(Success|Failure)! (\d+) passed, (\d+) failed(?:, (\d+) skipped)?\.")


def copy_modules(dest):
    """A copy of modules/ without anything a local run left behind (.terraform, state)."""
    shutil.copytree(
        MODULES_DIR,
        dest,
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"),
    )


@pytest.mark.parametrize("module", MODULES)
def test_module_terraform_test_passes(tmp_path, cli_config, moto, module):
    copy_modules(tmp_path / "modules")
    tf = Terraform(tmp_path / "modules" / module, terraform_env(cli_config))
    test_files = sorted((tf.workdir / "tests").glob("*.tftest.hcl"))
    assert test_files, f"modules/{module} has no tests/*.tftest.hcl"
    tf.config = "\n".join(f"# {p.name}\n{p.read_text()}" for p in test_files)  # for reports
    runs = [name for p in test_files for name in RUN_BLOCK.findall(p.read_text())]
    assert any("rejects" in name for name in runs), "no run proves a validation block"

    tf.init()
    result = tf.run("test", "-no-color", f"-var=aws_endpoint={moto.url}", ok=None)
    summary = SUMMARY.search(result.stdout)
    if result.code != 0 or not summary or summary.group(1) != "Success":
        raise AssertionError(tf.report(result, f"terraform test failed (exit code {result.code})"))
    passed, failed, skipped = (int(summary.group(i) or 0) for i in (2, 3, 4))
    if (passed, failed, skipped) != (len(runs), 0, 0):
        raise AssertionError(
            tf.report(result, f"expected all {len(runs)} runs to pass: {runs}")
        )

    # `terraform test` destroys what each file created: nothing of ours is left.
    assert_nothing_left(moto)


# Merged into the README example's provider block (Terraform override file semantics).
ENDPOINTS_OVERRIDE = """provider "strata" {{
  endpoints {{
    ec2 = "{url}"
    eks = "{url}"
    iam = "{url}"
    sts = "{url}"
  }}
}}
"""


def assert_nothing_left(moto) -> None:
    """No network, cluster or live peering connection of ours in the regions the tests use."""
    for region in REGIONS:
        assert_nothing_in_moto(Ec2Inventory(moto.client("ec2", region)))
        assert moto.client("eks", region).list_clusters()["clusters"] == [], region
        peerings = moto.client("ec2", region).describe_vpc_peering_connections()
        live = [
            p
            for p in peerings["VpcPeeringConnections"]
            if p["Status"]["Code"] not in ("deleted", "rejected", "expired")
        ]
        assert live == [], region


@pytest.mark.parametrize("module", MODULES)
def test_module_readme_example_applies(tmp_path, cli_config, moto, module):
    readme = (MODULES_DIR / module / "README.md").read_text()
    examples = re.findall(r"^```hcl\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    assert examples, f"modules/{module}/README.md has no hcl example"
    copy_modules(tmp_path / "modules")
    tf = Terraform(tmp_path, terraform_env(cli_config))
    tf.write(examples[0])
    tf.write(ENDPOINTS_OVERRIDE.format(url=moto.url), name="override.tf")
    tf.init()
    tf.validate()
    tf.plan()
    tf.apply("tfplan")
    assert tf.outputs(), "the example has outputs"
    tf.assert_no_changes()
    tf.destroy()
    assert_nothing_left(moto)


def blocks(text: str, kind: str) -> dict[str, str]:
    """{name: body} of the top-level `kind "name" { … }` blocks of a .tf file."""
    found = {}
    for match in re.finditer(rf'^{kind}\s+"([^"]+)"\s*\{{', text, re.MULTILINE):
        depth, i = 1, match.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        found[match.group(1)] = text[match.end() : i - 1]
    return found


@pytest.mark.parametrize("module", MODULES)
def test_module_inputs_and_outputs_are_documented(module):
    directory = MODULES_DIR / module
    readme = (directory / "README.md").read_text()
    variables = blocks((directory / "variables.tf").read_text(), "variable")
    outputs = blocks((directory / "outputs.tf").read_text(), "output")
    assert variables and outputs
    for kind, found in (("variable", variables), ("output", outputs)):
        for name, body in found.items():
            assert re.search(r"^\s*description\s*=", body, re.MULTILINE), f"{kind} {name}"
            assert f"| `{name}` |" in readme, f"{kind} {name} is not in the README's table"
    # Nothing in the README's input and output tables (`| name | …`) that the module
    # does not have.
    tables = re.findall(r"^\| name \|.*?\n\n", readme, re.MULTILINE | re.DOTALL)
    assert len(tables) >= 2, "the README needs an inputs table and an outputs table"
    row = re.compile(r"^\| `([a-z0-9_]+)` \|", re.MULTILINE)
    tabled = {name for table in tables for name in row.findall(table)}
    assert tabled <= set(variables) | set(outputs), tabled - set(variables) - set(outputs)
    # No provider block: the caller configures the provider.
    for path in directory.glob("*.tf"):
        assert not re.search(r'^provider\s+"', path.read_text(), re.MULTILINE), path
