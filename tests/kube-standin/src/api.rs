//! The REST verbs: request parsing and checks in front of the write pipeline, plus
//! reads, lists and deletes.

use serde_json::{Value, json};

use crate::error::{ApiError, FieldError};
use crate::kinds::ResourceType;
use crate::managed::Part;
use crate::route::{self, ObjectPath, Route};
use crate::selector::{FieldSelector, LabelSelector};
use crate::write::{Change, State, Write, Written, now, write};
use crate::{controllers, discovery, patch};

/// One HTTP request, as the API needs it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub content_type: String,
    pub accept: String,
    pub user_agent: String,
    /// `host:port` the client connected to (for `/api`'s server address).
    pub host: String,
    pub body: Vec<u8>,
}

impl Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn params<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.query
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true" | "1"))
    }
}

pub struct Response {
    pub code: u16,
    pub body: Value,
    /// The request changed stored state.
    pub wrote: bool,
    pub content_type: &'static str,
}

impl Response {
    fn json(code: u16, body: Value, wrote: bool) -> Self {
        Self {
            code,
            body,
            wrote,
            content_type: discovery::JSON,
        }
    }
}

fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed("the server does not allow this method on the requested resource")
}

fn watch_unsupported() -> ApiError {
    ApiError::method_not_allowed(
        "watch is not supported by the kube-standin test API server; poll with get or list instead",
    )
}

pub fn handle(state: &mut State, req: &Request) -> Result<Response, ApiError> {
    let route = route::parse(&req.path);
    match route {
        Route::Object(p) => object(state, req, &p),
        Route::Watch => Err(watch_unsupported()),
        Route::Unknown => Err(ApiError::no_route()),
        Route::Health => Ok(Response {
            code: 200,
            body: json!("ok"),
            wrote: false,
            content_type: discovery::TEXT,
        }),
        discovery_route => {
            if req.method != "GET" {
                return Err(method_not_allowed());
            }
            let (body, content_type) = discovery::serve(
                &state.store.registry,
                &discovery_route,
                &req.accept,
                &req.host,
            )
            .ok_or_else(ApiError::no_route)?;
            Ok(Response {
                code: 200,
                body,
                wrote: false,
                content_type,
            })
        }
    }
}

fn object(state: &mut State, req: &Request, p: &ObjectPath) -> Result<Response, ApiError> {
    let rt = state
        .store
        .registry
        .find(&p.group, &p.version, &p.plural)
        .cloned()
        .ok_or_else(ApiError::no_route)?;
    let scope_ok = match (rt.namespaced, &p.namespace, &p.name) {
        (true, Some(_), _) | (false, None, _) => true,
        // Lists across all namespaces.
        (true, None, None) => req.method == "GET",
        _ => false,
    };
    if !scope_ok {
        return Err(ApiError::no_route());
    }
    let part = match p.subresource.as_deref() {
        None => Part::Main,
        Some("status") if rt.status => Part::Status,
        Some(_) => return Err(ApiError::no_route()),
    };
    let ns = p.namespace.as_deref().unwrap_or_default();
    match (req.method.as_str(), p.name.as_deref()) {
        ("GET", None) if req.flag("watch") => Err(watch_unsupported()),
        ("GET", None) => list(state, req, &rt, p.namespace.as_deref()),
        ("GET", Some(name)) => {
            let obj = state
                .store
                .get(&rt, ns, name)
                .ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, name))?;
            Ok(Response::json(200, obj.clone(), false))
        }
        ("POST", None) => create(state, req, &rt, ns),
        ("PUT", Some(name)) => replace(state, req, &rt, ns, name, part),
        ("PATCH", Some(name)) => patch(state, req, &rt, ns, name, part),
        ("DELETE", Some(name)) if part == Part::Main => delete(state, req, &rt, ns, name),
        ("DELETE", None) => delete_collection(state, req, &rt, ns),
        _ => Err(method_not_allowed()),
    }
}

/// The field manager: `fieldManager`, else the User-Agent up to its first `/`, as the
/// real server does.
fn manager(req: &Request) -> String {
    match req.param("fieldManager") {
        Some(m) => m.to_owned(),
        None => req
            .user_agent
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// `dryRun` from the query (and a DeleteOptions body); only `All` is valid.
fn dry_run(req: &Request, options_kind: &str, body: Option<&Value>) -> Result<bool, ApiError> {
    let mut values: Vec<String> = req.params("dryRun").map(str::to_owned).collect();
    if let Some(list) = body.and_then(Value::as_array) {
        values.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    if values.iter().any(|v| v != "All") {
        let error = FieldError::not_supported("dryRun", json!(values), &["All"]);
        return Err(ApiError::invalid(options_kind, "meta.k8s.io", "", &[error]));
    }
    Ok(!values.is_empty())
}

fn body_object(req: &Request) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("the object provided is unrecognized: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized: not a JSON object",
        ));
    }
    Ok(v)
}

/// The body's apiVersion/kind must name the URL's kind (filled in when absent; another
/// served version of the same kind is accepted, as there is no conversion to do).
fn check_type(
    state: &State,
    rt: &ResourceType,
    obj: &mut Value,
    required: bool,
) -> Result<(), ApiError> {
    let want = rt.api_version();
    match obj["apiVersion"].as_str() {
        None if required => {
            return Err(ApiError::bad_request(
                "apiVersion must be set in the applied object",
            ));
        }
        None => obj["apiVersion"] = json!(want),
        Some(v) if v == want => {}
        Some(v) => {
            let (group, version) = v.rsplit_once('/').unwrap_or(("", v));
            if group != rt.group
                || state
                    .store
                    .registry
                    .find(group, version, &rt.plural)
                    .is_none()
            {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({v}) does not match the expected API version ({want})"
                )));
            }
            obj["apiVersion"] = json!(want);
        }
    }
    match obj["kind"].as_str() {
        None if required => Err(ApiError::bad_request(
            "kind must be set in the applied object",
        )),
        None => {
            obj["kind"] = json!(rt.kind);
            Ok(())
        }
        Some(k) if k == rt.kind => Ok(()),
        Some(k) => Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            rt.kind
        ))),
    }
}

/// The body's namespace must be the URL's; cluster-scoped objects have none.
fn check_namespace(rt: &ResourceType, obj: &mut Value, ns: &str) -> Result<(), ApiError> {
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    let meta = obj["metadata"]
        .as_object_mut()
        .expect("metadata is an object");
    if !rt.namespaced {
        meta.remove("namespace");
        return Ok(());
    }
    match meta.get("namespace").and_then(Value::as_str) {
        Some(body_ns) if !body_ns.is_empty() && body_ns != ns => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        _ => {
            meta.insert("namespace".into(), json!(ns));
            Ok(())
        }
    }
}

/// The body's name must be the URL's (filled in when absent).
fn check_name(obj: &mut Value, name: &str) -> Result<(), ApiError> {
    match obj["metadata"]["name"].as_str() {
        None | Some("") => {
            obj["metadata"]["name"] = json!(name);
            Ok(())
        }
        Some(n) if n == name => Ok(()),
        Some(n) => Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        ))),
    }
}

fn require_namespace(state: &State, rt: &ResourceType, ns: &str) -> Result<(), ApiError> {
    if rt.namespaced && !state.store.namespace_exists(ns) {
        return Err(ApiError::not_found("namespaces", "", ns));
    }
    Ok(())
}

/// `metadata.resourceVersion` and `metadata.uid` in a body act as preconditions.
fn preconditions(rt: &ResourceType, live: &Value, body: &Value) -> Result<(), ApiError> {
    let name = live["metadata"]["name"].as_str().unwrap_or_default();
    if let Some(uid) = body["metadata"]["uid"].as_str().filter(|u| !u.is_empty())
        && live["metadata"]["uid"] != uid
    {
        let live_uid = live["metadata"]["uid"].as_str().unwrap_or_default();
        let why = format!(
            "Precondition failed: UID in precondition: {uid}, UID in object meta: {live_uid}"
        );
        return Err(ApiError::conflict(&rt.plural, &rt.group, name, &why));
    }
    if let Some(rv) = body["metadata"]["resourceVersion"]
        .as_str()
        .filter(|v| !v.is_empty())
        && live["metadata"]["resourceVersion"] != rv
    {
        return Err(ApiError::stale(&rt.plural, &rt.group, name));
    }
    Ok(())
}

/// Runs the simulated controllers after a real change to a main resource.
fn settle(state: &mut State, rt: &ResourceType, written: &Written, part: Part, dry_run: bool) {
    if state.controllers && written.changed && !dry_run && part == Part::Main {
        controllers::react(state, rt, &written.object);
    }
}

fn list(
    state: &State,
    req: &Request,
    rt: &ResourceType,
    ns: Option<&str>,
) -> Result<Response, ApiError> {
    let items = select(state, req, rt, ns)?
        .into_iter()
        .map(|mut o| {
            // Typed lists carry no apiVersion/kind on their items; CRD lists do.
            if rt.builtin
                && let Some(m) = o.as_object_mut()
            {
                m.remove("apiVersion");
                m.remove("kind");
            }
            o
        })
        .collect();
    Ok(Response::json(200, list_doc(state, rt, items), false))
}

fn list_doc(state: &State, rt: &ResourceType, items: Vec<Value>) -> Value {
    json!({
        "kind": rt.list_kind,
        "apiVersion": rt.api_version(),
        "metadata": {"resourceVersion": state.store.resource_version().to_string()},
        "items": items,
    })
}

/// The objects a list or collection delete addresses, after the selectors.
fn select(
    state: &State,
    req: &Request,
    rt: &ResourceType,
    ns: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let ns = if rt.namespaced { ns } else { None };
    Ok(state
        .store
        .list(rt, ns)
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .cloned()
        .collect())
}

fn create(
    state: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: &str,
) -> Result<Response, ApiError> {
    let mut obj = body_object(req)?;
    let dry = dry_run(req, "CreateOptions", None)?;
    check_type(state, rt, &mut obj, false)?;
    check_namespace(rt, &mut obj, ns)?;
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let generate = obj["metadata"]["generateName"].as_str().unwrap_or_default();
    if name.is_empty() && !generate.is_empty() {
        obj["metadata"]["name"] = json!(format!("{generate}{}", suffix(state.store.random())));
    }
    require_namespace(state, rt, ns)?;
    let manager = manager(req);
    let w = Write {
        rt,
        part: Part::Main,
        manager: &manager,
        dry_run: dry,
    };
    let written = write(state, &w, None, Change::Replace(obj))?;
    settle(state, rt, &written, Part::Main, dry);
    Ok(Response::json(201, written.object, !dry))
}

/// Five characters of the alphabet the real server uses for generated names.
fn suffix(mut n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

fn replace(
    state: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    part: Part,
) -> Result<Response, ApiError> {
    let mut obj = body_object(req)?;
    let dry = dry_run(req, "UpdateOptions", None)?;
    check_type(state, rt, &mut obj, false)?;
    check_namespace(rt, &mut obj, ns)?;
    check_name(&mut obj, name)?;
    let old = state
        .store
        .get(rt, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, name))?;
    preconditions(rt, &old, &obj)?;
    let manager = manager(req);
    let w = Write {
        rt,
        part,
        manager: &manager,
        dry_run: dry,
    };
    let written = write(state, &w, Some(&old), Change::Replace(obj))?;
    settle(state, rt, &written, part, dry);
    Ok(Response::json(200, written.object, written.changed && !dry))
}

const APPLY: &str = "application/apply-patch+yaml";

fn patch(
    state: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    part: Part,
) -> Result<Response, ApiError> {
    let media = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let apply = media == APPLY;
    let manager = manager(req);
    let mut option_errors = Vec::new();
    if apply && manager.is_empty() {
        option_errors.push(FieldError::required(
            "fieldManager",
            "is required for apply patch",
        ));
    }
    if !apply && req.param("force").is_some() {
        option_errors.push(FieldError::forbidden(
            "force",
            "may not be specified for non-apply patch",
        ));
    }
    if !option_errors.is_empty() {
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            &option_errors,
        ));
    }
    let dry = dry_run(req, "PatchOptions", None)?;
    let live = state.store.get(rt, ns, name).cloned();
    let w = Write {
        rt,
        part,
        manager: &manager,
        dry_run: dry,
    };
    if apply {
        return server_side_apply(state, req, &w, live, ns, name);
    }
    let old = live.ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, name))?;
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let schema = crate::schema::Schema {
        builtin: rt.builtin,
        kind: &rt.kind,
    };
    let mut patched = match media.as_str() {
        "application/merge-patch+json" => patch::merge_patch(&old, &body),
        "application/strategic-merge-patch+json" => {
            patch::strategic_merge_patch(schema, &old, &body)
        }
        "application/json-patch+json" => patch::json_patch(&old, &body).map_err(|e| {
            ApiError::invalid(
                &rt.kind,
                &rt.group,
                name,
                &[FieldError::invalid("", Value::Null, e)],
            )
        })?,
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    check_type(state, rt, &mut patched, false)?;
    check_namespace(rt, &mut patched, ns)?;
    check_name(&mut patched, name)?;
    preconditions(rt, &old, &patched)?;
    let written = write(state, &w, Some(&old), Change::Replace(patched))?;
    settle(state, rt, &written, part, dry);
    Ok(Response::json(200, written.object, written.changed && !dry))
}

/// Parses an applied configuration: YAML, of which JSON is a subset.
fn parse_config(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

fn server_side_apply(
    state: &mut State,
    req: &Request,
    w: &Write<'_>,
    live: Option<Value>,
    ns: &str,
    name: &str,
) -> Result<Response, ApiError> {
    let rt = w.rt;
    let mut config = parse_config(&req.body)?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "the applied configuration must be an object",
        ));
    }
    check_type(state, rt, &mut config, true)?;
    check_namespace(rt, &mut config, ns)?;
    match config["metadata"]["name"].as_str() {
        Some(n) if n == name => {}
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        None => {
            return Err(ApiError::bad_request(
                "metadata.name must be set in the applied object",
            ));
        }
    }
    let force = req.flag("force");
    let written = match live {
        Some(live) => {
            preconditions(rt, &live, &config)?;
            write(state, w, Some(&live), Change::Apply { config, force })?
        }
        None if w.part == Part::Status => {
            return Err(ApiError::not_found(&rt.plural, &rt.group, name));
        }
        None => {
            require_namespace(state, rt, ns)?;
            write(state, w, None, Change::Apply { config, force })?
        }
    };
    settle(state, rt, &written, w.part, w.dry_run);
    let code = if written.created { 201 } else { 200 };
    Ok(Response::json(
        code,
        written.object,
        written.changed && !w.dry_run,
    ))
}

/// The body of a DELETE: `DeleteOptions`, possibly empty.
fn delete_options(req: &Request) -> Result<Value, ApiError> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let opts: Value = serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?;
    if let Some(policy) = opts["propagationPolicy"].as_str()
        && !matches!(policy, "Orphan" | "Background" | "Foreground")
    {
        let error = FieldError::not_supported(
            "propagationPolicy",
            json!(policy),
            &["Foreground", "Background", "Orphan", "nil"],
        );
        return Err(ApiError::invalid(
            "DeleteOptions",
            "meta.k8s.io",
            "",
            &[error],
        ));
    }
    Ok(opts)
}

fn delete(
    state: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: &str,
    name: &str,
) -> Result<Response, ApiError> {
    let opts = delete_options(req)?;
    let dry = dry_run(req, "DeleteOptions", opts.get("dryRun"))?;
    let live = state
        .store
        .get(rt, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&rt.plural, &rt.group, name))?;
    let pre = &opts["preconditions"];
    let body = json!({"metadata": {"uid": pre["uid"], "resourceVersion": pre["resourceVersion"]}});
    preconditions(rt, &live, &body)?;
    if !dry {
        state.store.remove(rt, ns, name);
    }
    // A Namespace answers with itself, terminating; other kinds with a Success status.
    let body = if rt.is("", "namespaces") {
        let mut ns_obj = live;
        ns_obj["metadata"]["deletionTimestamp"] = json!(now());
        ns_obj["status"]["phase"] = json!("Terminating");
        ns_obj
    } else {
        let mut details = json!({"name": name, "kind": rt.plural, "uid": live["metadata"]["uid"]});
        if !rt.group.is_empty() {
            details["group"] = json!(rt.group);
        }
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
    };
    Ok(Response::json(200, body, !dry))
}

fn delete_collection(
    state: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: &str,
) -> Result<Response, ApiError> {
    let opts = delete_options(req)?;
    let dry = dry_run(req, "DeleteOptions", opts.get("dryRun"))?;
    let doomed = select(state, req, rt, Some(ns))?;
    if !dry {
        for obj in &doomed {
            let name = obj["metadata"]["name"].as_str().unwrap_or_default();
            state.store.remove(rt, ns, name);
        }
    }
    let wrote = !dry && !doomed.is_empty();
    Ok(Response::json(200, list_doc(state, rt, doomed), wrote))
}
