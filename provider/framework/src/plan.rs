//! The protocol rules every resource's plans and results must follow, applied by the
//! framework so no resource can get them wrong:
//!
//! * defaults fill unset optional+computed attributes;
//! * on create, unset computed attributes are unknown ("known after apply");
//! * on update, they stay as they were unless the resource changes — then they are
//!   unknown, except where [`PlanModifier::UseStateForUnknown`] keeps the prior value;
//! * attributes declared [`PlanModifier::RequiresReplace`] that change force a replacement;
//! * after apply, the state is wholly known and equals every known planned value.

use crate::diag::AttributePath;
use crate::schema::{Block, Nesting, PlanModifier, Presence};
use crate::value::Value;

/// Terraform's proposed new state turned into our plan: defaults, then unknowns.
pub fn plan_new_state(block: &Block, config: &Value, prior: &Value, proposed: &Value) -> Value {
    let mut planned = proposed.clone();
    apply_defaults(block, config, &mut planned);
    let changed = prior.is_null() || !semantically_equal(&planned, prior);
    if changed {
        mark_computed_unknown(block, config, prior, &mut planned);
    }
    planned
}

fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    if planned.is_null() || planned.is_unknown() {
        return;
    }
    for attr in &block.attributes {
        if let Some(default) = &attr.default
            && config.attr(&attr.name).is_null()
            && let Some(slot) = planned.attr_mut(&attr.name)
        {
            *slot = default.clone();
        }
    }
    for b in &block.blocks {
        if b.nesting == Nesting::Single
            && let Some(slot) = planned.attr_mut(&b.name)
        {
            apply_defaults(&b.block, config.attr(&b.name), slot);
        }
    }
}

fn mark_computed_unknown(block: &Block, config: &Value, prior: &Value, planned: &mut Value) {
    if planned.is_null() || planned.is_unknown() {
        return;
    }
    for attr in &block.attributes {
        let configured = !config.attr(&attr.name).is_null();
        if !attr.is_computed() || configured || attr.default.is_some() {
            continue;
        }
        let prior_value = prior.attr(&attr.name);
        let keep = attr.has(PlanModifier::UseStateForUnknown) && !prior_value.is_null();
        if let Some(slot) = planned.attr_mut(&attr.name) {
            *slot = if keep {
                prior_value.clone()
            } else {
                Value::unknown()
            };
        }
    }
    for b in &block.blocks {
        if b.nesting == Nesting::Single
            && let Some(slot) = planned.attr_mut(&b.name)
        {
            mark_computed_unknown(&b.block, config.attr(&b.name), prior.attr(&b.name), slot);
        }
    }
}

/// Top-level attributes marked `RequiresReplace` whose planned value differs from the prior.
pub fn requires_replace(block: &Block, prior: &Value, planned: &Value) -> Vec<AttributePath> {
    if prior.is_null() || planned.is_null() {
        return Vec::new();
    }
    block
        .attributes
        .iter()
        .filter(|a| a.has(PlanModifier::RequiresReplace))
        .filter(|a| {
            let (p, n) = (prior.attr(&a.name), planned.attr(&a.name));
            // An optional+computed attribute left unset keeps whatever the provider chose.
            let left_to_provider = a.presence == Presence::OptionalComputed && n.is_unknown();
            !left_to_provider && !semantically_equal(p, n)
        })
        .map(|a| AttributePath::root(&a.name))
        .collect()
}

/// Equality that treats sets as unordered and numbers by value.
pub fn semantically_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Set(x), Value::Set(y)) => {
            x.len() == y.len()
                && x.iter().all(|i| y.iter().any(|j| semantically_equal(i, j)))
                && y.iter().all(|j| x.iter().any(|i| semantically_equal(i, j)))
        }
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(i, j)| semantically_equal(i, j))
        }
        (Value::Map(x), Value::Map(y)) | (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| semantically_equal(v, w)))
        }
        (Value::Unknown(_), Value::Unknown(_)) => true,
        (Value::Dynamic(_, x), Value::Dynamic(_, y)) => semantically_equal(x, y),
        _ => a == b,
    }
}

/// Sets the write-only attributes of `block` (and of its nested blocks) to null in `v`,
/// as Terraform requires of every planned, applied, read and imported state.
pub fn null_write_only(block: &Block, v: &mut Value) {
    if v.is_null() || v.is_unknown() {
        return;
    }
    for a in block.attributes.iter().filter(|a| a.write_only) {
        if v.attr_mut(&a.name).is_some() {
            v.set(&a.name, Value::Null);
        }
    }
    for nb in &block.blocks {
        let Some(inner) = v.attr_mut(&nb.name) else {
            continue;
        };
        match inner {
            Value::List(items) | Value::Set(items) => {
                for item in items {
                    null_write_only(&nb.block, item);
                }
            }
            Value::Map(items) => {
                for item in items.values_mut() {
                    null_write_only(&nb.block, item);
                }
            }
            other => null_write_only(&nb.block, other),
        }
    }
}

/// Replaces every unknown inside `v` by null: what a failed apply may leave.
pub fn unknown_as_null(v: &Value) -> Value {
    match v {
        Value::Unknown(_) => Value::Null,
        Value::List(x) => Value::List(x.iter().map(unknown_as_null).collect()),
        Value::Set(x) => Value::Set(x.iter().map(unknown_as_null).collect()),
        Value::Tuple(x) => Value::Tuple(x.iter().map(unknown_as_null).collect()),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), unknown_as_null(v)))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), unknown_as_null(v)))
                .collect(),
        ),
        Value::Dynamic(t, x) => Value::Dynamic(t.clone(), Box::new(unknown_as_null(x))),
        other => other.clone(),
    }
}

/// Where an applied state breaks the plan: unknown left in the state, or a value that was
/// known in the plan and came back different.
pub fn apply_inconsistencies(planned: &Value, new: &Value) -> Vec<(AttributePath, String)> {
    let mut out = Vec::new();
    walk_inconsistencies(planned, new, AttributePath::default(), &mut out);
    out
}

fn walk_inconsistencies(
    planned: &Value,
    new: &Value,
    path: AttributePath,
    out: &mut Vec<(AttributePath, String)>,
) {
    if !new.is_wholly_known() && !matches!((planned, new), (Value::Object(_), Value::Object(_))) {
        out.push((path, "is still unknown after apply".into()));
        return;
    }
    match (planned, new) {
        (Value::Unknown(_), _) => {}
        (Value::Object(p), Value::Object(n)) => {
            for (k, nv) in n {
                let pv = p.get(k).unwrap_or(&Value::Null);
                walk_inconsistencies(pv, nv, path.clone().attr(k), out);
            }
        }
        (p, n) if !semantically_equal(p, n) => {
            out.push((
                path,
                format!("was planned as {} but is now {}", p.to_json(), n.to_json()),
            ));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;
    use crate::value::Type;

    #[test]
    fn write_only_attributes_are_nulled_at_every_level() {
        use crate::schema::NestedBlock;
        let inner = Block {
            attributes: vec![
                Attribute::optional("password", Type::String).write_only(),
                Attribute::optional("user", Type::String),
            ],
            ..Default::default()
        };
        let block = Block {
            attributes: vec![
                Attribute::optional("secret", Type::String)
                    .sensitive()
                    .write_only(),
                Attribute::optional("name", Type::String),
            ],
            blocks: vec![NestedBlock::single("login", inner)],
            ..Default::default()
        };
        let obj = |pairs: &[(&str, Value)]| {
            Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            )
        };
        let mut v = obj(&[
            ("secret", Value::from("s")),
            ("name", Value::from("n")),
            (
                "login",
                obj(&[("password", Value::from("p")), ("user", Value::from("u"))]),
            ),
        ]);
        null_write_only(&block, &mut v);
        assert_eq!(
            v,
            obj(&[
                ("secret", Value::Null),
                ("name", Value::from("n")),
                (
                    "login",
                    obj(&[("password", Value::Null), ("user", Value::from("u"))]),
                ),
            ])
        );
        let mut null = Value::Null;
        null_write_only(&block, &mut null);
        assert!(null.is_null());
    }

    fn block() -> Block {
        Block {
            attributes: vec![
                Attribute::required("name", Type::String),
                Attribute::required("cidr", Type::String).requires_replace(),
                Attribute::optional("mode", Type::String).default("one_per_az"),
                Attribute::computed("id", Type::String).use_state_for_unknown(),
                Attribute::computed("tags_all", Type::map(Type::String)),
                Attribute::optional_computed("zones", Type::set(Type::String)),
            ],
            ..Default::default()
        }
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        let mut m: std::collections::BTreeMap<String, Value> = block()
            .attributes
            .iter()
            .map(|a| (a.name.clone(), Value::Null))
            .collect();
        for (k, v) in pairs {
            m.insert(k.to_string(), v.clone());
        }
        Value::Object(m)
    }

    #[test]
    fn create_plans_defaults_and_unknown_computed_values() {
        let config = obj(&[("name", "a".into()), ("cidr", "10.0.0.0/16".into())]);
        let planned = plan_new_state(&block(), &config, &Value::Null, &config);
        assert_eq!(planned.attr("mode"), &Value::from("one_per_az"));
        assert!(planned.attr("id").is_unknown());
        assert!(planned.attr("tags_all").is_unknown());
        assert!(planned.attr("zones").is_unknown());
        assert_eq!(planned.attr("name"), &Value::from("a"));
    }

    #[test]
    fn unchanged_update_keeps_every_prior_value() {
        let prior = obj(&[
            ("name", "a".into()),
            ("cidr", "10.0.0.0/16".into()),
            ("mode", "one_per_az".into()),
            ("id", "vpc-1".into()),
            ("tags_all", Value::Map(Default::default())),
            ("zones", Value::Set(vec!["b".into(), "a".into()])),
        ]);
        let config = obj(&[("name", "a".into()), ("cidr", "10.0.0.0/16".into())]);
        // Terraform's proposal: config values, prior values for unset computed ones.
        let mut proposed = prior.clone();
        *proposed.attr_mut("zones").unwrap() = Value::Set(vec!["a".into(), "b".into()]);
        let planned = plan_new_state(&block(), &config, &prior, &proposed);
        assert!(semantically_equal(&planned, &prior));
        assert!(requires_replace(&block(), &prior, &planned).is_empty());
    }

    #[test]
    fn changed_update_marks_computed_unknown_except_use_state() {
        let prior = obj(&[
            ("name", "a".into()),
            ("cidr", "10.0.0.0/16".into()),
            ("mode", "one_per_az".into()),
            ("id", "vpc-1".into()),
            ("tags_all", Value::Map(Default::default())),
        ]);
        let config = obj(&[("name", "b".into()), ("cidr", "10.1.0.0/16".into())]);
        let mut proposed = prior.clone();
        *proposed.attr_mut("name").unwrap() = "b".into();
        *proposed.attr_mut("cidr").unwrap() = "10.1.0.0/16".into();
        let planned = plan_new_state(&block(), &config, &prior, &proposed);
        assert_eq!(planned.attr("id"), &Value::from("vpc-1"));
        assert!(planned.attr("tags_all").is_unknown());
        assert_eq!(
            requires_replace(&block(), &prior, &planned),
            vec![AttributePath::root("cidr")]
        );
    }

    #[test]
    fn apply_result_must_be_known_and_match_the_plan() {
        let planned = obj(&[("name", "a".into()), ("id", Value::unknown())]);
        let good = obj(&[("name", "a".into()), ("id", "vpc-1".into())]);
        assert!(apply_inconsistencies(&planned, &good).is_empty());
        let unknown_left = obj(&[("name", "a".into()), ("id", Value::unknown())]);
        let problems = apply_inconsistencies(&planned, &unknown_left);
        assert_eq!(problems[0].0, AttributePath::root("id"));
        let changed = obj(&[("name", "b".into()), ("id", "vpc-1".into())]);
        let problems = apply_inconsistencies(&planned, &changed);
        assert_eq!(problems[0].0, AttributePath::root("name"));
    }

    #[test]
    fn failed_apply_state_has_no_unknowns() {
        let v = obj(&[("id", "vpc-1".into()), ("tags_all", Value::unknown())]);
        let cleaned = unknown_as_null(&v);
        assert!(cleaned.is_wholly_known());
        assert_eq!(cleaned.attr("id"), &Value::from("vpc-1"));
    }
}
