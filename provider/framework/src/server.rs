//! The tfplugin6 `Provider` gRPC service: one thin handler per RPC that finds the
//! resource, decodes the values, delegates, and encodes the answer. The protocol's
//! rules live in [`crate::plan`]; everything else belongs to the resources.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use strata_proto::tfplugin6 as pb;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use crate::codec;
use crate::diag::{AttributePath, Diagnostic, Diagnostics, Severity, Step};
use crate::plan;
use crate::resource::{
    ApplyRequest, ApplyResponse, Context, ImportResponse, PlanRequest, PlanResponse, Provider,
    ReadRequest, ReadResponse, Resource, StopSignal,
};
use crate::schema::{Attribute, Block, NestedBlock, Nesting, Presence, Schema};
use crate::value::{Type, Value};

struct Registered<D: Send + Sync + 'static> {
    resource: Arc<dyn Resource<D>>,
    schema: Schema,
    ty: Type,
}

/// Serves a [`Provider`] over tfplugin6.
pub struct ProviderService<P: Provider> {
    provider: P,
    provider_schema: Schema,
    resources: HashMap<&'static str, Registered<P::Data>>,
    /// Encoded once: Terraform asks for the schema on every process start.
    schema_response: pb::get_provider_schema::Response,
    data: OnceLock<Arc<P::Data>>,
    stop_tx: watch::Sender<bool>,
}

impl<P: Provider> ProviderService<P> {
    pub fn new(provider: P) -> Self {
        let provider_schema = provider.schema();
        let resources: HashMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|resource| {
                let schema = resource.schema();
                let ty = schema.value_type();
                (
                    resource.type_name(),
                    Registered {
                        resource,
                        schema,
                        ty,
                    },
                )
            })
            .collect();
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(schema_to_proto(&provider_schema)),
            resource_schemas: resources
                .iter()
                .map(|(name, r)| (name.to_string(), schema_to_proto(&r.schema)))
                .collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        };
        let (stop_tx, _) = watch::channel(false);
        ProviderService {
            provider,
            provider_schema,
            resources,
            schema_response,
            data: OnceLock::new(),
            stop_tx,
        }
    }

    /// The registered resource type names and schemas, for docs generation.
    pub fn resource_schemas(&self) -> Vec<(&'static str, &Schema)> {
        let mut out: Vec<_> = self
            .resources
            .iter()
            .map(|(n, r)| (*n, &r.schema))
            .collect();
        out.sort_by_key(|(n, _)| *n);
        out
    }

    fn resource(&self, type_name: &str) -> Result<&Registered<P::Data>, Status> {
        self.resources.get(type_name).ok_or_else(|| {
            Status::not_found(format!("this provider has no resource type {type_name:?}"))
        })
    }

    fn context(&self, diags: &mut Diagnostics) -> Option<Context<P::Data>> {
        match self.data.get() {
            Some(data) => Some(Context {
                data: data.clone(),
                stop: StopSignal::new(self.stop_tx.subscribe()),
            }),
            None => {
                diags.error(
                    "Provider not configured",
                    "Terraform asked for a resource operation before configuring the provider. This is a bug in Terraform or the provider.",
                );
                None
            }
        }
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: false,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

fn decode(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Some(dv) = dv else {
        return Some(Value::Null);
    };
    let result = if !dv.msgpack.is_empty() || dv.json.is_empty() {
        codec::decode(&dv.msgpack, ty)
    } else {
        codec::decode_json(&dv.json, ty)
    };
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            diags.error(format!("Cannot read the {what}"), e.to_string());
            None
        }
    }
}

fn encode(v: &Value, ty: &Type, diags: &mut Diagnostics) -> Option<pb::DynamicValue> {
    match codec::encode(v, ty) {
        Ok(msgpack) => Some(pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        }),
        Err(e) => {
            diags.error(
                "Provider produced a value it cannot encode",
                format!("{e}. This is a bug in the provider."),
            );
            None
        }
    }
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: self
                .resources
                .keys()
                .map(|n| pb::get_metadata::ResourceMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(self.schema_response.clone()))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::default();
        let ty = self.provider_schema.value_type();
        if let Some(config) = decode(
            req.config.as_ref(),
            &ty,
            "provider configuration",
            &mut diags,
        ) {
            self.provider_schema.block.validate_config(
                &config,
                &AttributePath::default(),
                &mut diags,
            );
            self.provider.validate(&config, &mut diags);
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags_to_proto(diags),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = req.into_inner();
        let mut diags = Diagnostics::default();
        let ty = self.provider_schema.value_type();
        if let Some(config) = decode(
            req.config.as_ref(),
            &ty,
            "provider configuration",
            &mut diags,
        ) && let Some(data) = self.provider.configure(&config, &mut diags).await
        {
            // Terraform configures each provider process once; a second call keeps the first.
            let _ = self.data.set(Arc::new(data));
        }
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags_to_proto(diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = req.into_inner();
        let r = self.resource(&req.type_name)?;
        let mut diags = Diagnostics::default();
        if let Some(config) = decode(req.config.as_ref(), &r.ty, "configuration", &mut diags) {
            r.schema
                .block
                .validate_config(&config, &AttributePath::default(), &mut diags);
            r.resource.validate(&config, &mut diags);
        }
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags_to_proto(diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let r = self.resource(&req.type_name)?;
        let mut diags = Diagnostics::default();
        let raw = req.raw_state.map(|s| s.json).unwrap_or_default();
        let upgraded = if raw.is_empty() {
            Some(Value::Null)
        } else if req.version == r.schema.version {
            decode(
                Some(&pb::DynamicValue {
                    msgpack: Vec::new(),
                    json: raw,
                }),
                &r.ty,
                "stored state",
                &mut diags,
            )
        } else if req.version > r.schema.version {
            diags.error(
                "State written by a newer provider",
                format!(
                    "This {} was stored with schema version {}, newer than this provider's {}. Upgrade the provider.",
                    req.type_name, req.version, r.schema.version
                ),
            );
            None
        } else {
            match serde_json::from_slice(&raw) {
                Ok(json) => r
                    .resource
                    .upgrade_state(req.version, json, &mut diags)
                    .and_then(|json| match Value::from_json(&json, &r.ty) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            diags.error("Upgraded state does not fit the schema", e.to_string());
                            None
                        }
                    }),
                Err(e) => {
                    diags.error("Cannot read the stored state", e.to_string());
                    None
                }
            }
        };
        let upgraded_state = upgraded.and_then(|v| encode(&v, &r.ty, &mut diags));
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: diags_to_proto(diags),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        let r = self.resource(&req.type_name)?;
        let mut diags = Diagnostics::default();
        let mut out = pb::read_resource::Response {
            private: req.private.clone(),
            ..Default::default()
        };
        if let (Some(ctx), Some(current)) = (
            self.context(&mut diags),
            decode(
                req.current_state.as_ref(),
                &r.ty,
                "current state",
                &mut diags,
            ),
        ) {
            let read_req = ReadRequest {
                current_state: current.clone(),
                private: req.private,
            };
            let mut resp = ReadResponse {
                new_state: current.clone(),
                private: read_req.private.clone(),
                diags,
            };
            if !current.is_null() {
                r.resource.read(&ctx, &read_req, &mut resp).await;
            }
            let mut state = if resp.diags.has_errors() {
                current
            } else {
                plan::unknown_as_null(&resp.new_state)
            };
            plan::null_write_only(&r.schema.block, &mut state);
            diags = resp.diags;
            out.new_state = encode(&state, &r.ty, &mut diags);
            out.private = resp.private;
        }
        out.diagnostics = diags_to_proto(diags);
        Ok(Response::new(out))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        let r = self.resource(&req.type_name)?;
        let mut diags = Diagnostics::default();
        let mut out = pb::plan_resource_change::Response::default();
        let values = (
            decode(req.prior_state.as_ref(), &r.ty, "prior state", &mut diags),
            decode(
                req.proposed_new_state.as_ref(),
                &r.ty,
                "proposed state",
                &mut diags,
            ),
            decode(req.config.as_ref(), &r.ty, "configuration", &mut diags),
        );
        let (Some(prior), Some(proposed), Some(config)) = values else {
            out.diagnostics = diags_to_proto(diags);
            return Ok(Response::new(out));
        };
        if proposed.is_null() {
            // Destroy: nothing to plan.
            out.planned_state = encode(&Value::Null, &r.ty, &mut diags);
            out.planned_private = req.prior_private;
            out.diagnostics = diags_to_proto(diags);
            return Ok(Response::new(out));
        }
        let Some(ctx) = self.context(&mut diags) else {
            out.diagnostics = diags_to_proto(diags);
            return Ok(Response::new(out));
        };
        let planned = plan::plan_new_state(&r.schema.block, &config, &prior, &proposed);
        let plan_req = PlanRequest {
            config,
            prior_state: prior,
            prior_private: req.prior_private,
        };
        let mut resp = PlanResponse {
            planned_state: planned,
            requires_replace: Vec::new(),
            planned_private: plan_req.prior_private.clone(),
            diags,
        };
        r.resource.modify_plan(&ctx, &plan_req, &mut resp).await;
        let mut replace =
            plan::requires_replace(&r.schema.block, &plan_req.prior_state, &resp.planned_state);
        for p in resp.requires_replace {
            if !replace.contains(&p) {
                replace.push(p);
            }
        }
        let mut diags = resp.diags;
        plan::null_write_only(&r.schema.block, &mut resp.planned_state);
        out.planned_state = encode(&resp.planned_state, &r.ty, &mut diags);
        out.requires_replace = replace.iter().map(path_to_proto).collect();
        out.planned_private = resp.planned_private;
        out.diagnostics = diags_to_proto(diags);
        Ok(Response::new(out))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        let r = self.resource(&req.type_name)?;
        let mut diags = Diagnostics::default();
        let mut out = pb::apply_resource_change::Response::default();
        let values = (
            decode(req.prior_state.as_ref(), &r.ty, "prior state", &mut diags),
            decode(
                req.planned_state.as_ref(),
                &r.ty,
                "planned state",
                &mut diags,
            ),
            decode(req.config.as_ref(), &r.ty, "configuration", &mut diags),
            self.context(&mut diags),
        );
        let (Some(prior), Some(planned), Some(config), Some(ctx)) = values else {
            out.diagnostics = diags_to_proto(diags);
            return Ok(Response::new(out));
        };
        let apply_req = ApplyRequest {
            config,
            prior_state: prior.clone(),
            planned_state: planned.clone(),
            planned_private: req.planned_private,
        };
        let start = if planned.is_null() {
            prior.clone()
        } else {
            planned.clone()
        };
        let mut resp = ApplyResponse {
            new_state: start,
            private: apply_req.planned_private.clone(),
            diags,
        };
        let op = if planned.is_null() {
            r.resource.delete(&ctx, &apply_req, &mut resp).await;
            "delete"
        } else if prior.is_null() {
            r.resource.create(&ctx, &apply_req, &mut resp).await;
            "create"
        } else {
            r.resource.update(&ctx, &apply_req, &mut resp).await;
            "update"
        };
        let mut diags = resp.diags;
        plan::null_write_only(&r.schema.block, &mut resp.new_state);
        let new_state = if diags.has_errors() {
            // Keep what exists so nothing is orphaned; Terraform cannot store unknowns.
            plan::unknown_as_null(&resp.new_state)
        } else if op == "delete" {
            Value::Null
        } else {
            for (path, problem) in plan::apply_inconsistencies(&planned, &resp.new_state) {
                diags.attribute_error(
                    path.clone(),
                    "Provider produced an inconsistent result",
                    format!("After {op}, {path} {problem}. This is a bug in the provider, please report it."),
                );
            }
            plan::unknown_as_null(&resp.new_state)
        };
        out.new_state = encode(&new_state, &r.ty, &mut diags);
        out.private = resp.private;
        out.diagnostics = diags_to_proto(diags);
        Ok(Response::new(out))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        let r = self.resource(&req.type_name)?;
        let mut diags = Diagnostics::default();
        let mut out = pb::import_resource_state::Response::default();
        if let Some(ctx) = self.context(&mut diags) {
            let mut resp = ImportResponse {
                state: Value::Null,
                private: Vec::new(),
                diags,
            };
            r.resource.import(&ctx, &req.id, &mut resp).await;
            diags = resp.diags;
            if !diags.has_errors() && !resp.state.is_null() {
                plan::null_write_only(&r.schema.block, &mut resp.state);
                let state = encode(&resp.state, &r.ty, &mut diags);
                out.imported_resources
                    .push(pb::import_resource_state::ImportedResource {
                        type_name: req.type_name.clone(),
                        state,
                        private: resp.private,
                        identity: None,
                    });
            }
        }
        out.diagnostics = diags_to_proto(diags);
        Ok(Response::new(out))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!("stop requested: ending long waits");
        let _ = self.stop_tx.send(true);
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

pub(crate) fn schema_to_proto(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block_to_proto(&s.block, s.version)),
    }
}

fn block_to_proto(b: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: b.attributes.iter().map(attribute_to_proto).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| nested_to_proto(nb, version))
            .collect(),
        description: b.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: b.deprecated,
    }
}

fn attribute_to_proto(a: &Attribute) -> pb::schema::Attribute {
    let mut description = a.description.clone();
    for v in &a.validators {
        description.push(' ');
        description.push_str(&v.describe());
    }
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: a.ty.to_json().to_string().into_bytes(),
        nested_type: None,
        description,
        required: a.presence == Presence::Required,
        optional: matches!(a.presence, Presence::Optional | Presence::OptionalComputed)
            || a.default.is_some(),
        computed: a.is_computed() || a.default.is_some(),
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        write_only: a.write_only,
    }
}

fn nested_to_proto(nb: &NestedBlock, version: i64) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode;
    let nesting = match nb.nesting {
        Nesting::Single => NestingMode::Single,
        Nesting::List => NestingMode::List,
        Nesting::Set => NestingMode::Set,
    };
    pb::schema::NestedBlock {
        type_name: nb.name.clone(),
        block: Some(block_to_proto(&nb.block, version)),
        nesting: nesting as i32,
        min_items: nb.min_items,
        max_items: nb.max_items,
    }
}

fn path_to_proto(p: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    Step::Attr(a) => Selector::AttributeName(a.clone()),
                    Step::Key(k) => Selector::ElementKeyString(k.clone()),
                    Step::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

fn diags_to_proto(d: Diagnostics) -> Vec<pb::Diagnostic> {
    d.0.into_iter().map(diag_to_proto).collect()
}

fn diag_to_proto(d: Diagnostic) -> pb::Diagnostic {
    let severity = match d.severity {
        Severity::Error => pb::diagnostic::Severity::Error,
        Severity::Warning => pb::diagnostic::Severity::Warning,
    };
    pb::Diagnostic {
        severity: severity as i32,
        summary: d.summary,
        detail: d.detail,
        attribute: d.attribute.as_ref().map(path_to_proto),
    }
}

#[cfg(test)]
mod tests;
