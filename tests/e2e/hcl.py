"""Write the Terraform configurations the tests apply, as readable HCL.

Tests build configurations from Python values rather than templates so each test only
states what it changes. Output is plain HCL (not `.tf.json`) because that is what users
write, and because diagnostics then point at lines a person can read in a failure
report. Every argument is rendered on a single line, so "the diagnostic points at the
line of `cidr_block`" is a precise check (see `line_of`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

# The Terraform block every test configuration starts with.
TERRAFORM_BLOCK = """\
terraform {
  required_providers {
    strata = {
      source = "strata/strata"
    }
  }
}
"""


@dataclass
class Block:
    """A nested block (`timeouts { … }`) as opposed to an argument (`tags = { … }`)."""

    body: Mapping[str, Any] = field(default_factory=dict)


def value(v: Any) -> str:
    """Render a Python value as an HCL expression on one line."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, str):
        # JSON string escapes are valid HCL; template sequences must be escaped.
        return json.dumps(v).replace("${", "$${").replace("%{", "%%{")
    if isinstance(v, (list, tuple, set, frozenset)):
        items = sorted(v) if isinstance(v, (set, frozenset)) else v
        return "[" + ", ".join(value(i) for i in items) + "]"
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot render {v!r} as HCL")


def body(items: Mapping[str, Any], indent: int = 1) -> str:
    """Render the inside of a block: one argument per line, nested blocks expanded."""
    pad = "  " * indent
    out: list[str] = []
    run: list[tuple[str, str]] = []  # consecutive arguments, aligned like `terraform fmt`

    def flush() -> None:
        width = max((len(name) for name, _ in run), default=0)
        out.extend(f"{pad}{name.ljust(width)} = {text}" for name, text in run)
        run.clear()

    for name, v in items.items():
        if isinstance(v, Block):
            flush()
            out.append(f"{pad}{name} {{")
            out.append(body(v.body, indent + 1))
            out.append(f"{pad}}}")
        elif v is not None:
            run.append((name, value(v)))
    flush()
    return "\n".join(line for line in out if line)


def block(header: str, items: Mapping[str, Any]) -> str:
    """`header { items }`, e.g. block('resource "strata_vpc" "main"', {...})."""
    return f"{header} {{\n{body(items)}\n}}\n"


def provider(
    endpoint: str,
    region: str = "us-west-2",
    default_tags: Optional[Mapping[str, str]] = None,
    max_retries: int = 3,
) -> str:
    """The `provider "strata"` block pointing every AWS service at `endpoint` (moto)."""
    items: dict[str, Any] = {
        "region": region,
        "endpoints": Block({"ec2": endpoint, "eks": endpoint, "iam": endpoint, "sts": endpoint}),
        "max_retries": max_retries,
    }
    if default_tags is not None:
        items["default_tags"] = Block({"tags": dict(default_tags)})
    return block('provider "strata"', items)


def line_of(text: str, argument: str, after: str = 'resource "strata_vpc"') -> int:
    """1-based line number of `argument = …` in `text`, searching after the `after` header."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(after)), 0)
    pattern = re.compile(rf"^\s*{re.escape(argument)}\s*=")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    raise ValueError(f"no line assigns {argument!r} in:\n{text}")
