//! Small conversions between Terraform values and the plain Rust the engines use.

use std::collections::{BTreeMap, BTreeSet};

use strata_framework::Value;

/// A known string, or `None` for null/unknown.
pub fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// A known map of strings, or `None` when the map (or any value in it) is null or unknown.
pub fn str_map(v: &Value) -> Option<BTreeMap<String, String>> {
    v.entries()?
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// A known set or list of strings, or `None` when it (or an element) is null or unknown.
pub fn str_set(v: &Value) -> Option<BTreeSet<String>> {
    v.elements()?
        .iter()
        .map(|e| e.as_str().map(str::to_string))
        .collect()
}

pub fn string_set<'a>(items: impl IntoIterator<Item = &'a String>) -> Value {
    Value::Set(
        items
            .into_iter()
            .map(|s| Value::String(s.clone()))
            .collect(),
    )
}

pub fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::string_map(m)
}

/// A map of the IDs present; AZs without one are left out.
pub fn id_map<'a>(entries: impl IntoIterator<Item = (&'a String, Option<&'a String>)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .filter_map(|(k, v)| Some((k.clone(), Value::String(v?.clone()))))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_inside_a_map_makes_it_unknown() {
        let m = Value::Map([("a".to_string(), Value::unknown())].into());
        assert_eq!(str_map(&m), None);
        let m = Value::Map([("a".to_string(), Value::from("x"))].into());
        assert_eq!(str_map(&m).unwrap()["a"], "x");
    }
}
