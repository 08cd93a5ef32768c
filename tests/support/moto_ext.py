"""moto's server with the EKS update operations it lacks: a stand-in gap fill.

Usage is exactly `moto_server`'s: ``python moto_ext.py -H 127.0.0.1 -p 5000``. The test
harness (tests/lib.sh, tests/support/strata_support.py) starts moto through this file.

What moto 5.2 does not do, and what this adds before the server builds its app:

* ``UpdateClusterVersion`` (``POST /clusters/{name}/updates``): moto has no such route.
  Added: the cluster's ``version`` becomes the requested one (refused like EKS does with
  ``InvalidParameterException`` when it is not exactly one minor version up), the
  platform version restarts at ``eks.1``, and an update with status ``Successful`` is
  recorded and returned as ``{"update": {...}}``. Real EKS keeps the update
  ``InProgress`` for 20-40 minutes and the cluster ``UPDATING``; the stand-in finishes
  at once, so tests see the end state of the wait, not the wait itself.
* ``DescribeUpdate`` (``GET /clusters/{name}/updates/{updateId}``, optional
  ``?nodegroupName=``): answers for the updates recorded here, including the ones
  moto's own ``UpdateNodegroupConfig`` returns (recorded as they pass by), else
  ``ResourceNotFoundException`` as EKS does.
* ``ListUpdates`` (``GET /clusters/{name}/updates``): the recorded update IDs.
* ``UpdateNodegroupVersion`` (``POST /clusters/{name}/node-groups/{ng}/update-version``):
  sets the node group's ``version`` (default: the cluster's) and ``releaseVersion`` (when
  given), records a ``Successful`` ``VersionUpdate``.

And presigned requests: moto's server picks the service of a request on its loopback
address from the credential scope in the ``Authorization`` header, so a *presigned* one
(scope in the ``X-Amz-Credential`` query parameter, no header) fell through to S3. Added:
such a request is routed by its query's credential scope the same way. That is how an
EKS token's presigned STS ``GetCallerIdentity`` URL reaches moto's STS (EKS's
authenticator sends exactly that request to STS to learn who a token belongs to).

And one test hook, for the tests of `strata_storage_class` against the Kubernetes API
stand-in: ``POST /moto-api/strata/eks-cluster-access`` with a JSON body
``{"region": R, "endpoint": URL, "certificate_authority_data": B64, "name": N}`` makes
``DescribeCluster`` report that endpoint and CA (base64 of the PEM, as EKS does) — for
the existing cluster ``N`` (404 if there is none), or, without ``name``, for every
cluster created in region ``R`` from then on (until moto is reset). moto otherwise
reports a made-up endpoint and random CA data; the provider cannot tell the difference
from EKS.

And one setting: AWS's managed IAM policies (``arn:aws:iam::aws:policy/…``, e.g.
``AmazonEKSClusterPolicy``) exist in every AWS account, but moto only knows them when
``MOTO_IAM_LOAD_MANAGED_POLICIES=true``; the launcher sets it, so attaching them works as
on AWS.

Deliberately *not* changed: moto's ``UpdateClusterConfig`` answers ``{"cluster": ...}``
where EKS answers ``{"update": ...}``. The provider copes with an answer without an
update ID by polling ``DescribeCluster`` until ``ACTIVE``; keeping moto's behaviour
keeps that path exercised while version upgrades exercise the ``DescribeUpdate`` path.
One fix is made to it, because moto's behaviour would corrupt the cluster:
``resourcesVpcConfig`` in an ``UpdateClusterConfig`` *merges* into the cluster's (EKS
changes only the fields given; moto replaced the whole object, losing the subnet IDs
when only endpoint access changed).

tests/e2e/test_moto_ext.py checks each of these against a running server with boto3.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import Any


def _version_tuple(version: str) -> tuple[int, int] | None:
    try:
        major, minor = version.split(".")
        return int(major), int(minor)
    except (AttributeError, ValueError):
        return None


def install() -> None:
    """Patch moto's EKS service. Must run before the server creates its EKS app."""
    # Read by moto whenever it builds an IAM backend (at start and after each reset).
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

    import moto.eks.urls as eks_urls
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.eks.exceptions import InvalidParameterException, ResourceNotFoundException
    from moto.eks.models import EKSBackend
    from moto.eks.responses import EKSResponse

    def updates_of(backend: EKSBackend) -> dict[tuple[str, str | None, str], dict[str, Any]]:
        # Kept on the backend instance so moto's reset API forgets them with the clusters.
        store = getattr(backend, "strata_updates", None)
        if store is None:
            store = {}
            backend.strata_updates = store  # type: ignore[attr-defined]
        return store

    def not_found(message: str) -> ResourceNotFoundException:
        return ResourceNotFoundException(
            clusterName=None,
            nodegroupName=None,
            fargateProfileName=None,
            addonName=None,
            message=message,
        )

    def record(
        backend: EKSBackend, cluster: str, nodegroup: str | None, update: dict[str, Any]
    ) -> dict[str, Any]:
        updates_of(backend)[(cluster, nodegroup, update["id"])] = update
        return update

    def new_update(kind: str, params: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "status": "Successful",
            "type": kind,
            "params": params,
            "createdAt": utcnow(),
            "errors": [],
        }

    def update_cluster_version(self: EKSResponse) -> ActionResult:
        name = self._get_param("name")
        version = self._get_param("version")
        cluster = self.eks_backend.describe_cluster(name=name)
        current, wanted = _version_tuple(cluster.version), _version_tuple(version)
        if (
            current is None
            or wanted is None
            or wanted[0] != current[0]
            or wanted[1] != current[1] + 1
        ):
            raise InvalidParameterException(
                message=f"Unsupported Kubernetes minor version update from {cluster.version} to {version}"
            )
        cluster.version = version
        cluster.platformVersion = "eks.1"
        update = new_update(
            "VersionUpdate",
            [
                {"type": "Version", "value": version},
                {"type": "PlatformVersion", "value": "eks.1"},
            ],
        )
        return ActionResult({"update": record(self.eks_backend, name, None, update)})

    def describe_update(self: EKSResponse) -> ActionResult:
        name = self._get_param("name")
        update_id = self._get_param("updateId")
        nodegroup = self._get_param("nodegroupName") or None
        self.eks_backend.describe_cluster(name=name)  # ResourceNotFound for a wrong cluster
        update = updates_of(self.eks_backend).get((name, nodegroup, update_id))
        if update is None:
            raise not_found(f"No update found for ID: {update_id}")
        return ActionResult({"update": update})

    def list_updates(self: EKSResponse) -> ActionResult:
        name = self._get_param("name")
        nodegroup = self._get_param("nodegroupName") or None
        self.eks_backend.describe_cluster(name=name)
        ids = [
            update_id
            for (cluster, ng, update_id) in updates_of(self.eks_backend)
            if cluster == name and ng == nodegroup
        ]
        return ActionResult({"updateIds": ids})

    def update_nodegroup_version(self: EKSResponse) -> ActionResult:
        name = self._get_param("name")
        nodegroup_name = self._get_param("nodegroupName")
        nodegroup = self.eks_backend.describe_nodegroup(
            cluster_name=name, nodegroup_name=nodegroup_name
        )
        cluster = self.eks_backend.describe_cluster(name=name)
        version = self._get_param("version") or cluster.version
        release = self._get_param("releaseVersion")
        nodegroup.version = version
        params = [{"type": "Version", "value": version}]
        if release:
            nodegroup.release_version = release
            params.append({"type": "ReleaseVersion", "value": release})
        nodegroup.modified_at = utcnow()
        update = new_update("VersionUpdate", params)
        return ActionResult({"update": record(self.eks_backend, name, nodegroup_name, update)})

    original_nodegroup_config = EKSBackend.update_nodegroup_config

    def update_nodegroup_config(self: EKSBackend, cluster_name: str, nodegroup_name: str, **kwargs: Any) -> dict[str, Any]:
        update = original_nodegroup_config(self, cluster_name, nodegroup_name, **kwargs)
        return record(self, cluster_name, nodegroup_name, update)

    original_cluster_config = EKSBackend.update_cluster_config

    def update_cluster_config(self: EKSBackend, name: str, resources_vpc_config: Any = None, **kwargs: Any) -> Any:
        cluster = self.clusters.get(name)
        if cluster is not None and resources_vpc_config:
            merged = dict(cluster.resources_vpc_config or {})
            merged.update(resources_vpc_config)
            resources_vpc_config = merged
        return original_cluster_config(self, name, resources_vpc_config, **kwargs)

    EKSResponse.update_cluster_version = update_cluster_version  # type: ignore[attr-defined]
    EKSResponse.describe_update = describe_update  # type: ignore[attr-defined]
    EKSResponse.list_updates = list_updates  # type: ignore[attr-defined]
    EKSResponse.update_nodegroup_version = update_nodegroup_version  # type: ignore[attr-defined]
    EKSBackend.update_nodegroup_config = update_nodegroup_config  # type: ignore[method-assign]
    EKSBackend.update_cluster_config = update_cluster_config  # type: ignore[method-assign]

    original_create_cluster = EKSBackend.create_cluster

    def create_cluster(self: EKSBackend, *args: Any, **kwargs: Any) -> Any:
        cluster = original_create_cluster(self, *args, **kwargs)
        access = getattr(self, "strata_cluster_access", None)
        if access is not None:
            cluster.endpoint, cluster.certificate_authority = access["endpoint"], {"data": access["ca"]}
        return cluster

    EKSBackend.create_cluster = create_cluster  # type: ignore[method-assign]

    from urllib.parse import parse_qs

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original_infer = DomainDispatcherApplication.infer_service_region_host

    def infer_service_region_host(self: Any, environ: dict[str, Any], path: str) -> Any:
        if not environ.get("HTTP_AUTHORIZATION"):
            scope = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
            if scope:
                environ = {
                    **environ,
                    "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential={scope[0]}, SignedHeaders=host, Signature=0",
                }
        return original_infer(self, environ, path)

    DomainDispatcherApplication.infer_service_region_host = infer_service_region_host  # type: ignore[method-assign]

    import json

    import moto.moto_api._internal.urls as moto_api_urls
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.eks.models import eks_backends

    def cluster_access(request: Any, full_url: str, headers: Any) -> tuple[int, dict, str]:
        if request.method != "POST":
            return 405, {}, json.dumps({"error": "POST a JSON body"})
        length = int(headers.get("Content-Length") or 0)
        body = json.loads(request.environ["wsgi.input"].read(length).decode("utf-8"))
        backend = eks_backends[DEFAULT_ACCOUNT_ID][body["region"]]
        access = {"endpoint": body["endpoint"], "ca": body["certificate_authority_data"]}
        name = body.get("name")
        if name is None:
            backend.strata_cluster_access = access  # type: ignore[attr-defined]
            return 200, {}, json.dumps({"status": "ok"})
        cluster = backend.clusters.get(name)
        if cluster is None:
            return 404, {}, json.dumps({"error": f"no cluster {name} in {body['region']}"})
        cluster.endpoint, cluster.certificate_authority = access["endpoint"], {"data": access["ca"]}
        return 200, {}, json.dumps({"status": "ok"})

    moto_api_urls.url_paths["{0}/moto-api/strata/eks-cluster-access"] = cluster_access

    dispatch = eks_urls.response.dispatch
    eks_urls.url_paths.update(
        {
            "{0}/clusters/(?P<name>[^/]+)/updates$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$": dispatch,
        }
    )


def main(argv: list[str] | None = None) -> None:
    install()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
