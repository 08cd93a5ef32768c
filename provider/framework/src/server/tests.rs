//! The protocol rules, checked through the RPC handlers with a small in-memory resource.

use std::sync::Mutex;

use async_trait::async_trait;
use pb::provider_server::Provider as _;

use super::*;
use crate::resource::Provider as ProviderTrait;
use crate::schema::Validator;

/// Remembers what it was asked, and fails on request, so the tests can watch the framework.
#[derive(Default)]
struct Store {
    objects: Mutex<std::collections::BTreeMap<String, String>>,
}

struct Thing;

#[async_trait]
impl Resource<Store> for Thing {
    fn type_name(&self) -> &'static str {
        "test_thing"
    }
    fn schema(&self) -> Schema {
        Schema {
            version: 1,
            block: Block {
                description: "A thing.".into(),
                attributes: vec![
                    Attribute::computed("id", Type::String).use_state_for_unknown(),
                    Attribute::required("name", Type::String).requires_replace(),
                    Attribute::optional("size", Type::String)
                        .default("small")
                        .validate(Validator::OneOf(vec!["small", "large"])),
                    Attribute::computed("serial", Type::String),
                    Attribute::optional("fail_after_id", Type::Bool),
                    Attribute::optional("misbehave", Type::Bool),
                ],
                ..Default::default()
            },
        }
    }
    async fn create(&self, ctx: &Context<Store>, req: &ApplyRequest, resp: &mut ApplyResponse) {
        let name = req.planned_state.attr("name").as_str().unwrap().to_string();
        let id = format!("thing-{name}");
        ctx.data.objects.lock().unwrap().insert(id.clone(), name);
        *resp.new_state.attr_mut("id").unwrap() = id.into();
        if req.planned_state.attr("fail_after_id").as_bool() == Some(true) {
            resp.diags.error("boom", "failed half-way");
            return;
        }
        *resp.new_state.attr_mut("serial").unwrap() = "s-1".into();
        if req.planned_state.attr("misbehave").as_bool() == Some(true) {
            *resp.new_state.attr_mut("size").unwrap() = "large".into();
        }
    }
    async fn read(&self, ctx: &Context<Store>, req: &ReadRequest, resp: &mut ReadResponse) {
        let id = req.current_state.attr("id").as_str().unwrap_or_default();
        if !ctx.data.objects.lock().unwrap().contains_key(id) {
            resp.new_state = Value::Null;
        }
    }
    async fn update(&self, _: &Context<Store>, _: &ApplyRequest, resp: &mut ApplyResponse) {
        *resp.new_state.attr_mut("serial").unwrap() = "s-2".into();
    }
    async fn delete(&self, ctx: &Context<Store>, req: &ApplyRequest, _: &mut ApplyResponse) {
        let id = req.prior_state.attr("id").as_str().unwrap();
        ctx.data.objects.lock().unwrap().remove(id);
    }
    async fn import(&self, _: &Context<Store>, id: &str, resp: &mut ImportResponse) {
        resp.state = Value::Object([("id".to_string(), Value::from(id))].into());
    }
    fn upgrade_state(
        &self,
        version: i64,
        mut state: serde_json::Value,
        _: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        assert_eq!(version, 0);
        // Version 0 called `name` `label`.
        let label = state["label"].take();
        state["name"] = label;
        Some(state)
    }
}

struct TestProvider;

#[async_trait]
impl ProviderTrait for TestProvider {
    type Data = Store;
    fn schema(&self) -> Schema {
        Schema::default()
    }
    async fn configure(&self, _: &Value, _: &mut Diagnostics) -> Option<Store> {
        Some(Store::default())
    }
    fn resources(&self) -> Vec<Arc<dyn Resource<Store>>> {
        vec![Arc::new(Thing)]
    }
}

async fn configured() -> ProviderService<TestProvider> {
    let svc = ProviderService::new(TestProvider);
    let config = codec::encode(
        &Value::Object(Default::default()),
        &Schema::default().value_type(),
    )
    .unwrap();
    svc.configure_provider(Request::new(pb::configure_provider::Request {
        config: Some(pb::DynamicValue {
            msgpack: config,
            json: vec![],
        }),
        ..Default::default()
    }))
    .await
    .unwrap();
    svc
}

fn ty() -> Type {
    Thing.schema().value_type()
}

fn dv(v: &Value) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: codec::encode(v, &ty()).unwrap(),
        json: vec![],
    })
}

fn val(d: &Option<pb::DynamicValue>) -> Value {
    codec::decode(&d.as_ref().unwrap().msgpack, &ty()).unwrap()
}

fn config(pairs: &[(&str, Value)]) -> Value {
    let mut v = Value::from_json(&serde_json::json!({}), &ty()).unwrap();
    for (k, x) in pairs {
        *v.attr_mut(k).unwrap() = x.clone();
    }
    v
}

async fn plan(
    svc: &ProviderService<TestProvider>,
    prior: &Value,
    cfg: &Value,
) -> pb::plan_resource_change::Response {
    // Terraform proposes config values, with prior values for unset computed attributes.
    let mut proposed = cfg.clone();
    if !prior.is_null() {
        for name in ["id", "serial", "size"] {
            if cfg.attr(name).is_null() {
                *proposed.attr_mut(name).unwrap() = prior.attr(name).clone();
            }
        }
    }
    svc.plan_resource_change(Request::new(pb::plan_resource_change::Request {
        type_name: "test_thing".into(),
        prior_state: dv(prior),
        proposed_new_state: dv(&proposed),
        config: dv(cfg),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn apply(
    svc: &ProviderService<TestProvider>,
    prior: &Value,
    planned: &Value,
    cfg: &Value,
) -> pb::apply_resource_change::Response {
    svc.apply_resource_change(Request::new(pb::apply_resource_change::Request {
        type_name: "test_thing".into(),
        prior_state: dv(prior),
        planned_state: dv(planned),
        config: dv(cfg),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

#[tokio::test]
async fn schema_carries_cty_types_markdown_and_flags() {
    let svc = ProviderService::new(TestProvider);
    let resp = svc
        .get_provider_schema(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    let schema = &resp.resource_schemas["test_thing"];
    assert_eq!(schema.version, 1);
    let block = schema.block.as_ref().unwrap();
    let size = block.attributes.iter().find(|a| a.name == "size").unwrap();
    assert_eq!(size.r#type, br#""string""#);
    assert!(size.optional && size.computed && !size.required);
    assert!(size.description.contains("One of `small`, `large`"));
    assert_eq!(size.description_kind, pb::StringKind::Markdown as i32);
    let id = block.attributes.iter().find(|a| a.name == "id").unwrap();
    assert!(id.computed && !id.optional);
}

#[tokio::test]
async fn create_plans_unknown_computed_values_and_defaults() {
    let svc = configured().await;
    let cfg = config(&[("name", "a".into())]);
    let resp = plan(&svc, &Value::Null, &cfg).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let planned = val(&resp.planned_state);
    assert!(planned.attr("id").is_unknown());
    assert!(planned.attr("serial").is_unknown());
    assert_eq!(planned.attr("size"), &Value::from("small"));
    assert!(planned.attr("fail_after_id").is_null());
}

#[tokio::test]
async fn apply_fills_the_plan_and_read_finds_it_then_null_once_gone() {
    let svc = configured().await;
    let cfg = config(&[("name", "a".into())]);
    let planned = val(&plan(&svc, &Value::Null, &cfg).await.planned_state);
    let resp = apply(&svc, &Value::Null, &planned, &cfg).await;
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let state = val(&resp.new_state);
    assert_eq!(state.attr("id"), &Value::from("thing-a"));

    // No change → identical plan, nothing unknown.
    let again = val(&plan(&svc, &state, &cfg).await.planned_state);
    assert!(plan::semantically_equal(&again, &state));

    let read = |s: Value| {
        let svc = &svc;
        async move {
            svc.read_resource(Request::new(pb::read_resource::Request {
                type_name: "test_thing".into(),
                current_state: dv(&s),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
        }
    };
    assert_eq!(val(&read(state.clone()).await.new_state), state);
    svc.data.get().unwrap().objects.lock().unwrap().clear();
    assert!(val(&read(state).await.new_state).is_null());
}

#[tokio::test]
async fn changing_a_requires_replace_attribute_asks_for_replacement() {
    let svc = configured().await;
    let cfg = config(&[("name", "a".into())]);
    let planned = val(&plan(&svc, &Value::Null, &cfg).await.planned_state);
    let state = val(&apply(&svc, &Value::Null, &planned, &cfg).await.new_state);
    let resp = plan(&svc, &state, &config(&[("name", "b".into())])).await;
    assert_eq!(
        resp.requires_replace,
        vec![path_to_proto(&AttributePath::root("name"))]
    );
    // An in-place change keeps `id` (UseStateForUnknown) but re-plans `serial`.
    let resp = plan(
        &svc,
        &state,
        &config(&[("name", "a".into()), ("size", "large".into())]),
    )
    .await;
    assert!(resp.requires_replace.is_empty());
    let planned = val(&resp.planned_state);
    assert_eq!(planned.attr("id"), &Value::from("thing-a"));
    assert!(planned.attr("serial").is_unknown());
}

#[tokio::test]
async fn failed_create_returns_partial_state_with_the_error() {
    let svc = configured().await;
    let cfg = config(&[("name", "p".into()), ("fail_after_id", true.into())]);
    let planned = val(&plan(&svc, &Value::Null, &cfg).await.planned_state);
    let resp = apply(&svc, &Value::Null, &planned, &cfg).await;
    assert_eq!(resp.diagnostics[0].summary, "boom");
    let state = val(&resp.new_state);
    assert_eq!(state.attr("id"), &Value::from("thing-p"));
    assert!(
        state.attr("serial").is_null(),
        "unknowns become null in a partial state"
    );
}

#[tokio::test]
async fn result_that_breaks_the_plan_is_reported_with_its_path() {
    let svc = configured().await;
    let cfg = config(&[("name", "m".into()), ("misbehave", true.into())]);
    let planned = val(&plan(&svc, &Value::Null, &cfg).await.planned_state);
    let resp = apply(&svc, &Value::Null, &planned, &cfg).await;
    let d = &resp.diagnostics[0];
    assert_eq!(
        d.attribute,
        Some(path_to_proto(&AttributePath::root("size")))
    );
    assert!(d.detail.contains("planned as \"small\""), "{}", d.detail);
}

#[tokio::test]
async fn invalid_config_is_reported_on_the_attribute() {
    let svc = configured().await;
    let resp = svc
        .validate_resource_config(Request::new(pb::validate_resource_config::Request {
            type_name: "test_thing".into(),
            config: dv(&config(&[("name", "a".into()), ("size", "huge".into())])),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.diagnostics.len(), 1);
    assert_eq!(
        resp.diagnostics[0].severity,
        pb::diagnostic::Severity::Error as i32
    );
    assert_eq!(
        resp.diagnostics[0].attribute,
        Some(path_to_proto(&AttributePath::root("size")))
    );
}

#[tokio::test]
async fn import_and_state_upgrade() {
    let svc = configured().await;
    let resp = svc
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "test_thing".into(),
            id: "thing-x".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let imported = &resp.imported_resources[0];
    assert_eq!(imported.type_name, "test_thing");
    assert_eq!(val(&imported.state).attr("id"), &Value::from("thing-x"));

    let resp = svc
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "test_thing".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: br#"{"id":"thing-o","label":"old"}"#.to_vec(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
    let up = val(&resp.upgraded_state);
    assert_eq!(up.attr("name"), &Value::from("old"));
    assert_eq!(up.attr("id"), &Value::from("thing-o"));
}

#[tokio::test]
async fn stop_provider_fires_the_stop_signal() {
    let svc = configured().await;
    let mut diags = Diagnostics::default();
    let ctx = svc.context(&mut diags).unwrap();
    assert!(!ctx.stop.is_stopped());
    svc.stop_provider(Request::new(Default::default()))
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(1), ctx.stop.stopped())
        .await
        .unwrap();
}
