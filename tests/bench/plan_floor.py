"""The floor of plan-bench: a `terraform plan`'s AWS calls, made by boto3 and nothing else.

    python plan_floor.py ENDPOINT CALLS.json

CALLS.json lists the calls the provider made during one recorded `terraform plan`
(`plan_bench.py` writes it from moto's request recording), in order, as
`{"service", "region", "operation", "params"}` with boto3 parameter names. This script
imports boto3, makes one client per (service, region) pointed at ENDPOINT, and makes
the calls one after another. It prints how long each phase took as JSON on stdout; the
caller also times the whole process, which is the figure that stands next to the wall
time of `terraform plan`.

Deliberately bare: no retries beyond boto3's defaults, no threads, no result handling.
"""

from __future__ import annotations

import json
import sys
import time

start = time.perf_counter()

import boto3  # noqa: E402  (its import is part of what is timed)
from botocore import xform_name  # noqa: E402


def main() -> int:
    endpoint, calls_path = sys.argv[1], sys.argv[2]
    imported = time.perf_counter()
    with open(calls_path) as f:
        calls = json.load(f)

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    clients = {}
    for call in calls:
        key = (call["service"], call["region"])
        if key not in clients:
            clients[key] = session.client(
                call["service"], region_name=call["region"], endpoint_url=endpoint
            )
    ready = time.perf_counter()

    for call in calls:
        client = clients[(call["service"], call["region"])]
        getattr(client, xform_name(call["operation"]))(**call["params"])
    done = time.perf_counter()

    json.dump(
        {
            "import_s": imported - start,
            "clients_s": ready - imported,
            "calls_s": done - ready,
            "calls": len(calls),
            "clients": len(clients),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
