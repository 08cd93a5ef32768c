//! Discovery documents: `/version`, `/api`, `/apis`, `/apis/{group}`, the resource lists
//! of each group/version, and aggregated discovery (v2) when the client asks for it.

use serde_json::{Value, json};

use crate::kinds::{Registry, ResourceType};
use crate::route::Route;

/// The media type of aggregated discovery answers.
pub const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
pub const JSON: &str = "application/json";
pub const TEXT: &str = "text/plain; charset=utf-8";

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: [&str; 3] = ["get", "patch", "update"];

/// The document for a discovery route, with its media type; `None` when nothing is served there.
pub fn serve(
    reg: &Registry,
    route: &Route,
    accept: &str,
    host: &str,
) -> Option<(Value, &'static str)> {
    let aggregated = accept.contains("as=APIGroupDiscoveryList");
    let doc = match route {
        Route::Version => version(),
        Route::CoreVersions if aggregated => return Some((aggregated_list(reg, true), AGGREGATED)),
        Route::Groups if aggregated => return Some((aggregated_list(reg, false), AGGREGATED)),
        Route::CoreVersions => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        }),
        Route::Groups => {
            let groups: Vec<Value> = reg.groups().iter().map(|(g, vs)| group(g, vs)).collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        Route::Group(name) => {
            let (g, vs) = reg.groups().into_iter().find(|(g, _)| g == name)?;
            let mut doc = group(&g, &vs);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        }
        Route::Resources { group, version } => {
            let types = reg.group_version(group, version);
            if types.is_empty() {
                return None;
            }
            let group_version = types[0].api_version();
            let resources: Vec<Value> = types.iter().flat_map(|r| resource_entries(r)).collect();
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
        }
        _ => return None,
    };
    Some((doc, JSON))
}

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0",
        "gitCommit": "60a317eadfcb839692a68eab88b2096f4d708f4f",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T13:07:17Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn group(name: &str, versions: &[String]) -> Value {
    let gv = |v: &String| json!({"groupVersion": format!("{name}/{v}"), "version": v});
    json!({
        "name": name,
        "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": gv(&versions[0]),
    })
}

/// `kubectl get all` shows these.
fn categories(r: &ResourceType) -> Option<Value> {
    let all = r.builtin
        && matches!(
            r.plural.as_str(),
            "pods"
                | "services"
                | "statefulsets"
                | "deployments"
                | "jobs"
                | "cronjobs"
                | "horizontalpodautoscalers"
        );
    all.then(|| json!(["all"]))
}

fn resource_entries(r: &ResourceType) -> Vec<Value> {
    let mut main = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": VERBS,
    });
    if !r.short_names.is_empty() {
        main["shortNames"] = json!(r.short_names);
    }
    if let Some(c) = categories(r) {
        main["categories"] = c;
    }
    let mut out = vec![main];
    if r.status {
        out.push(json!({
            "name": format!("{}/status", r.plural),
            "singularName": "",
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": STATUS_VERBS,
        }));
    }
    out
}

/// `APIGroupDiscoveryList` for the core group (`/api`) or the named groups (`/apis`).
fn aggregated_list(reg: &Registry, core: bool) -> Value {
    let groups: Vec<(String, Vec<String>)> = if core {
        vec![(String::new(), vec!["v1".to_owned()])]
    } else {
        reg.groups()
    };
    let items: Vec<Value> = groups
        .iter()
        .map(|(g, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = reg
                        .group_version(g, v)
                        .into_iter()
                        .map(aggregated_resource)
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": g}, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

fn aggregated_resource(r: &ResourceType) -> Value {
    let kind = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let mut doc = json!({
        "resource": r.plural,
        "responseKind": kind,
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": VERBS,
    });
    if !r.short_names.is_empty() {
        doc["shortNames"] = json!(r.short_names);
    }
    if let Some(c) = categories(r) {
        doc["categories"] = c;
    }
    if r.status {
        doc["subresources"] =
            json!([{"subresource": "status", "responseKind": kind, "verbs": STATUS_VERBS}]);
    }
    doc
}
