//! One apply pass: discovery per rank, then each object through dry-run, comparison and
//! (only when something differs) the real apply.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::Status;
use serde_json::Value;
use strata_agent_core::object::{Object, ObjectKey};

use super::volumes::{self, Plan};
use super::{ApplyOptions, Change, FORCE_ANNOTATION, Failure, MAX_FIELDS, failure};
use crate::conflict::{self, Classified};
use crate::diff::{diff_paths, normalise};
use crate::resources::{Resolved, gk, is_builtin_group};
use crate::{Cluster, Error, FIELD_MANAGER};

/// (group, version, kind)
type Gvk = (String, String, String);

pub(super) struct Pass<'a> {
    cluster: &'a Cluster,
    options: &'a ApplyOptions,
    /// This pass's discovery answers, misses included (a miss is asked again next pass).
    kinds: HashMap<Gvk, Option<Resolved>>,
    /// Namespaces a dry-run pass would create: their objects cannot be dry-run yet.
    would_create: Mutex<HashSet<String>>,
    /// Requests that failed without an answer from the API server.
    pub(super) unanswered: AtomicUsize,
}

fn gvk_of(object: &Object) -> Gvk {
    let (group, version) = match object.api_version().rsplit_once('/') {
        Some((group, version)) => (group, version),
        None => ("", object.api_version()),
    };
    (
        group.to_owned(),
        version.to_owned(),
        object.kind().to_owned(),
    )
}

impl<'a> Pass<'a> {
    pub(super) fn new(cluster: &'a Cluster, options: &'a ApplyOptions) -> Self {
        Self {
            cluster,
            options,
            kinds: HashMap::new(),
            would_create: Mutex::new(HashSet::new()),
            unanswered: AtomicUsize::new(0),
        }
    }

    /// Resolves the kinds of `objects` once each, before they are applied concurrently.
    /// A cluster that does not answer discovery ends the pass.
    pub(super) async fn discover(&mut self, objects: &[Object]) -> Result<(), Error> {
        let wanted: HashSet<Gvk> = objects
            .iter()
            .map(gvk_of)
            .filter(|gvk| !self.kinds.contains_key(gvk))
            .collect();
        let cluster = self.cluster;
        let lookups = wanted.into_iter().map(|gvk| async move {
            let found = cluster.resolve(&gvk.0, &gvk.2, Some(&gvk.1)).await;
            (gvk, found)
        });
        for (gvk, found) in futures::future::join_all(lookups).await {
            self.kinds.insert(gvk, found?);
        }
        Ok(())
    }

    /// Applies one object; its kind was discovered by [`Pass::discover`].
    pub(super) async fn apply(&self, object: &Object) -> Result<Change, Failure> {
        let key = object.key();
        let gvk = gvk_of(object);
        let Some(resolved) = self.kinds.get(&gvk).cloned().flatten() else {
            return missing_kind(&key, object.api_version());
        };
        let api = self.cluster.api(&resolved, object.namespace());
        let desired = object.to_json();
        let force = self.options.force || opts_in_to_force(object);
        let name = object.name();
        let (dry, live) = tokio::join!(
            self.ssa(&api, name, &desired, true, force),
            api.get_opt(name)
        );
        let live = live.map_err(|e| self.fail(&key, &e))?.map(to_value);

        if let (Object::StatefulSet(_), Some(live)) = (object, &live) {
            match volumes::plan(&key, &desired, live) {
                Plan::Unchanged => {}
                Plan::Refuse(failure) => return Err(failure),
                Plan::Expand(expansions) => {
                    let target = volumes::Target {
                        cluster: self.cluster,
                        key: &key,
                        api: &api,
                        desired: &desired,
                        live_uid: live
                            .pointer("/metadata/uid")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        dry_run: self.options.dry_run,
                        force,
                    };
                    return volumes::expand(target, &expansions).await;
                }
            }
        }

        let (dry, force) = match dry {
            Ok(dry) => (dry, force),
            Err(kube::Error::Api(status)) if !force && conflict::is_field_conflict(&status) => {
                let dry = self.take_back(&key, &status, live.as_ref(), &api, name, &desired);
                (dry.await?, true)
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {
                return self.not_found(&key, object, &status.message).await;
            }
            Err(e) => return Err(self.fail(&key, &e)),
        };

        let Some(mut live) = live else {
            if self.options.dry_run {
                if let Object::Namespace(_) = object {
                    self.would_create
                        .lock()
                        .expect("lock")
                        .insert(key.name.clone());
                }
            } else {
                self.write(&key, &api, name, &desired, force).await?;
            }
            return Ok(Change::Created);
        };
        let mut dry = dry;
        normalise(&mut dry);
        normalise(&mut live);
        if dry == live {
            return Ok(Change::Unchanged);
        }
        let fields = diff_paths(&live, &dry, MAX_FIELDS);
        if !self.options.dry_run {
            self.write(&key, &api, name, &desired, force).await?;
        }
        Ok(Change::Updated { fields })
    }

    /// A dry-run refused for conflicts: fields held by imperative edits (`kubectl edit`,
    /// `scale`, `patch`) are drift and taken back (the forced dry-run's result is
    /// returned); fields of another applier are its own, reported as a conflict.
    async fn take_back(
        &self,
        key: &ObjectKey,
        status: &Status,
        live: Option<&Value>,
        api: &Api<DynamicObject>,
        name: &str,
        desired: &Value,
    ) -> Result<Value, Failure> {
        let classified = Classified::new(conflict::parse(status), live);
        if !classified.declarative.is_empty() {
            let (managers, fields) = classified.declarative_summary();
            return Err(Failure::Conflict {
                managers,
                fields,
                message: status.message.clone(),
            });
        }
        let fields: Vec<_> = classified
            .imperative
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        tracing::info!(%key, ?fields, "taking back fields changed out of band");
        self.ssa(api, name, desired, true, true)
            .await
            .map_err(|e| self.fail(key, &e))
    }

    /// The real apply.
    async fn write(
        &self,
        key: &ObjectKey,
        api: &Api<DynamicObject>,
        name: &str,
        desired: &Value,
        force: bool,
    ) -> Result<(), Failure> {
        self.ssa(api, name, desired, false, force)
            .await
            .map(drop)
            .map_err(|e| self.fail(key, &e))
    }

    /// A 404 on a dry-run: the object's namespace does not exist yet, or the kind is no
    /// longer served (its CRD deleted since discovery).
    async fn not_found(
        &self,
        key: &ObjectKey,
        object: &Object,
        message: &str,
    ) -> Result<Change, Failure> {
        let (group, version, kind) = gvk_of(object);
        self.cluster.forget(&group, &kind);
        match self.cluster.resolve(&group, &kind, Some(&version)).await {
            Ok(None) => return missing_kind(key, object.api_version()),
            Ok(Some(_)) => {}
            Err(e) => {
                return Err(Failure::Transient {
                    message: e.to_string(),
                });
            }
        }
        let namespace_pending = key
            .namespace
            .as_ref()
            .is_some_and(|ns| self.would_create.lock().expect("lock").contains(ns));
        if self.options.dry_run && namespace_pending {
            return Ok(Change::Created);
        }
        Err(Failure::Transient {
            message: message.to_owned(),
        })
    }

    async fn ssa(
        &self,
        api: &Api<DynamicObject>,
        name: &str,
        desired: &Value,
        dry_run: bool,
        force: bool,
    ) -> Result<Value, kube::Error> {
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.dry_run = dry_run;
        params.force = force;
        api.patch(name, &params, &Patch::Apply(desired))
            .await
            .map(to_value)
    }

    fn fail(&self, key: &ObjectKey, error: &kube::Error) -> Failure {
        if !matches!(error, kube::Error::Api(_)) {
            self.unanswered.fetch_add(1, Ordering::Relaxed);
        }
        failure::from_error(key, error)
    }
}

/// The workload opted in to taking fields of other appliers.
fn opts_in_to_force(object: &Object) -> bool {
    object
        .metadata()
        .annotations
        .as_ref()
        .and_then(|a| a.get(FORCE_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// A kind the cluster does not serve: CRD-backed kinds wait for their CRD; a built-in
/// kind at a version the cluster lacks is an error in the repo.
fn missing_kind(key: &ObjectKey, api_version: &str) -> Result<Change, Failure> {
    if is_builtin_group(&key.group) {
        Err(Failure::Invalid {
            message: format!(
                "{key}: the cluster does not serve {} at {api_version}",
                gk(&key.group, &key.kind)
            ),
        })
    } else {
        Ok(Change::SkippedMissingKind)
    }
}

fn to_value(object: DynamicObject) -> Value {
    serde_json::to_value(object).expect("objects from the API server serialize to JSON")
}
