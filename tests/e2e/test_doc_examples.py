"""The examples shown on the generated documentation pages work when copied.

Each `examples/resources/<type>/resource.tf` is applied as written, against moto,
next to a provider block pointing at it; `examples/provider/provider.tf` must validate.
"""

from __future__ import annotations

import shutil

import hcl
import pytest
from strata_support import REPO_ROOT

EXAMPLES = sorted((REPO_ROOT / "examples" / "resources").glob("*/resource.tf"))
REQUIRED = """terraform {
  required_providers {
    strata = { source = "strata/strata" }
  }
}
"""


def test_provider_example_validates(tf):
    shutil.copy(REPO_ROOT / "examples" / "provider" / "provider.tf", tf.workdir / "provider.tf")
    tf.init()
    tf.validate()


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_resource_example_applies_and_destroys(tf, moto, example):
    tf.write(REQUIRED + hcl.provider(moto.url), name="provider.tf")
    shutil.copy(example, tf.workdir / "main.tf")
    tf.init()
    tf.validate()
    tf.plan()
    tf.apply("tfplan")
    tf.assert_no_changes()
    tf.destroy()
