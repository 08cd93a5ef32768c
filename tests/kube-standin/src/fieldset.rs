//! Sets of field paths and their `FieldsV1` encoding, as structured-merge-diff has them.
//!
//! A path is a sequence of map field names and associative-list keys. `FieldsV1` encodes a
//! set as a tree: `f:<name>` for a field, `k:{"name":"x"}` for a list item, and `.: {}`
//! where a node that has children is itself in the set.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Element {
    Field(String),
    /// An associative-list item by its key fields, sorted by name; values as JSON text.
    Key(Vec<(String, String)>),
}

pub type Path = Vec<Element>;

/// `.spec.template.spec.containers[name="app"].image`, the server's path notation.
pub fn path_string(path: &[Element]) -> String {
    let mut s = String::new();
    for e in path {
        match e {
            Element::Field(name) => {
                s.push('.');
                s.push_str(name);
            }
            Element::Key(pairs) => {
                let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push('[');
                s.push_str(&inner.join(","));
                s.push(']');
            }
        }
    }
    s
}

impl Element {
    fn encode(&self) -> String {
        match self {
            Element::Field(name) => format!("f:{name}"),
            Element::Key(pairs) => {
                let inner: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                    .collect();
                format!("k:{{{}}}", inner.join(","))
            }
        }
    }

    fn decode(s: &str) -> Option<Element> {
        if let Some(name) = s.strip_prefix("f:") {
            return Some(Element::Field(name.into()));
        }
        let json: Map<String, Value> = serde_json::from_str(s.strip_prefix("k:")?).ok()?;
        Some(Element::Key(
            json.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
        ))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(BTreeSet<Path>);

impl FieldSet {
    pub fn insert(&mut self, path: Path) {
        self.0.insert(path);
    }
    pub fn contains(&self, path: &[Element]) -> bool {
        self.0.contains(path)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        self.0.iter()
    }
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }
    /// Whether some path strictly below `prefix` is in the set.
    pub fn has_below(&self, prefix: &[Element]) -> bool {
        self.0
            .iter()
            .any(|p| p.len() > prefix.len() && p.starts_with(prefix))
    }
    /// Drops every path at or below one of `prefixes`.
    pub fn remove_under(&mut self, prefixes: &FieldSet) {
        self.0
            .retain(|p| !prefixes.0.iter().any(|q| p.starts_with(q)));
    }

    pub fn to_fields_v1(&self) -> Value {
        #[derive(Default)]
        struct Node {
            member: bool,
            children: BTreeMap<String, Node>,
        }
        fn emit(node: &Node) -> Value {
            let mut m = Map::new();
            if node.member && !node.children.is_empty() {
                m.insert(".".into(), Value::Object(Map::new()));
            }
            for (k, child) in &node.children {
                m.insert(k.clone(), emit(child));
            }
            Value::Object(m)
        }
        let mut root = Node::default();
        for path in &self.0 {
            let mut node = &mut root;
            for e in path {
                node = node.children.entry(e.encode()).or_default();
            }
            node.member = true;
        }
        emit(&root)
    }

    pub fn from_fields_v1(v: &Value) -> FieldSet {
        fn walk(v: &Value, path: &mut Path, out: &mut FieldSet) {
            let Some(m) = v.as_object() else { return };
            if m.is_empty() && !path.is_empty() {
                out.insert(path.clone());
            }
            for (k, child) in m {
                if k == "." {
                    out.insert(path.clone());
                } else if let Some(e) = Element::decode(k) {
                    path.push(e);
                    walk(child, path, out);
                    path.pop();
                }
            }
        }
        let mut out = FieldSet::default();
        walk(v, &mut Vec::new(), &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(s: &str) -> Element {
        Element::Field(s.into())
    }

    #[test]
    fn encodes_members_with_dot_and_round_trips() {
        let key = Element::Key(vec![("name".into(), "\"app\"".into())]);
        let mut set = FieldSet::default();
        set.insert(vec![f("spec"), f("containers"), key.clone()]);
        set.insert(vec![f("spec"), f("containers"), key.clone(), f("image")]);
        set.insert(vec![f("spec"), f("replicas")]);
        let v = set.to_fields_v1();
        assert_eq!(
            v,
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}}}, "f:replicas": {}}})
        );
        assert_eq!(FieldSet::from_fields_v1(&v), set);
        assert_eq!(
            path_string(&[f("spec"), f("containers"), key, f("image")]),
            ".spec.containers[name=\"app\"].image"
        );
    }

    #[test]
    fn multi_key_items() {
        let key = Element::Key(vec![
            ("containerPort".into(), "80".into()),
            ("protocol".into(), "\"TCP\"".into()),
        ]);
        assert_eq!(key.encode(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(Element::decode(&key.encode()), Some(key));
    }
}
