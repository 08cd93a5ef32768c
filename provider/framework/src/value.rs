//! Terraform values and types, as the plugin protocol carries them.
//!
//! [`Type`] mirrors cty's type system (its JSON form is what schemas send) and [`Value`]
//! is one value of such a type, including the two states Rust types lack: null and
//! unknown ("known after apply"). Resources usually convert to and from their own
//! serde structs with [`Value::to_json`] and [`Value::from_json`].

use std::collections::BTreeMap;
use std::fmt;

use serde_json::json;

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Number,
    Bool,
    /// Any type; the value carries its own type on the wire.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    /// The cty JSON encoding used in schemas (`"string"`, `["list","string"]`, …).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::Dynamic => json!("dynamic"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(attrs) => {
                let attrs: serde_json::Map<_, _> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                json!(["object", attrs])
            }
            Type::Tuple(elems) => {
                json!(["tuple", elems.iter().map(Type::to_json).collect::<Vec<_>>()])
            }
        }
    }

    /// Parses cty type JSON, as found inside `dynamic` values.
    pub fn from_json(v: &serde_json::Value) -> Option<Type> {
        use serde_json::Value as J;
        match v {
            J::String(s) => match s.as_str() {
                "string" => Some(Type::String),
                "number" => Some(Type::Number),
                "bool" => Some(Type::Bool),
                "dynamic" => Some(Type::Dynamic),
                _ => None,
            },
            J::Array(parts) if parts.len() == 2 => {
                let kind = parts[0].as_str()?;
                match kind {
                    "list" => Some(Type::list(Type::from_json(&parts[1])?)),
                    "set" => Some(Type::set(Type::from_json(&parts[1])?)),
                    "map" => Some(Type::map(Type::from_json(&parts[1])?)),
                    "object" => {
                        let attrs = parts[1].as_object()?;
                        let mut out = BTreeMap::new();
                        for (k, t) in attrs {
                            out.insert(k.clone(), Type::from_json(t)?);
                        }
                        Some(Type::Object(out))
                    }
                    "tuple" => {
                        let elems = parts[1].as_array()?;
                        Some(Type::Tuple(
                            elems.iter().map(Type::from_json).collect::<Option<_>>()?,
                        ))
                    }
                    _ => None,
                }
            }
            // Objects with optional attributes carry a third element; we do not need it.
            J::Array(parts) if parts.len() == 3 && parts[0] == "object" => {
                Type::from_json(&json!(["object", parts[1]]))
            }
            _ => None,
        }
    }
}

/// A number exactly as it travelled: Terraform sends integers, floats, or decimal strings
/// (for fractions and integers beyond 64 bits), and expects the same form back.
#[derive(Clone, Debug)]
pub enum Number {
    Int(i64),
    Float(f64),
    /// A decimal string such as `0.1` or `18446744073709551616`.
    Decimal(String),
}

impl Number {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Number::Float(_) => None,
            Number::Decimal(s) => s.parse().ok(),
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Number::Int(i) => Some(*i as f64),
            Number::Float(f) => Some(*f),
            Number::Decimal(s) => s.parse().ok(),
        }
    }
    /// The canonical decimal text, used to compare numbers sent in different forms.
    fn canonical(&self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => (*f as i64).to_string(),
            Number::Float(f) => f.to_string(),
            Number::Decimal(s) => match s.parse::<i64>() {
                Ok(i) => i.to_string(),
                Err(_) => s.trim_end_matches('0').trim_end_matches('.').to_string(),
            },
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        self.canonical() == other.canonical()
    }
}

/// What Terraform already knows about an unknown value (refinements, protocol 6.x).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refinements {
    /// `Some(false)`: the value will not be null.
    pub nullable: Option<bool>,
    pub string_prefix: Option<String>,
    pub number_lower: Option<(Number, bool)>,
    pub number_upper: Option<(Number, bool)>,
    pub length_lower: Option<u64>,
    pub length_upper: Option<u64>,
}

/// A Terraform value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// Not known until apply.
    Unknown(Box<Refinements>),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Tuple(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    /// A value of a `dynamic` attribute, with the concrete type it arrived with.
    Dynamic(Type, Box<Value>),
}

impl Value {
    pub fn unknown() -> Value {
        Value::Unknown(Box::default())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }

    /// True when neither this value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                v.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
            _ => true,
        }
    }

    /// The attribute `name` of an object (null for null objects and missing names).
    pub fn attr(&self, name: &str) -> &Value {
        match self {
            Value::Object(m) => m.get(name).unwrap_or(&Value::Null),
            _ => &Value::Null,
        }
    }

    /// Mutable access to the attribute `name` of an object, inserting null if missing.
    pub fn attr_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) => Some(m.entry(name.to_string()).or_insert(Value::Null)),
            _ => None,
        }
    }

    /// Sets the attribute `name` of an object; does nothing on other values.
    pub fn set(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.attr_mut(name) {
            *slot = v;
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Elements of a list, set or tuple.
    pub fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Entries of a map or object.
    pub fn entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Plain JSON for serde-based decoding into resource models. Unknown becomes null:
    /// during apply, unknown planned values are exactly the ones the resource fills.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null | Value::Unknown(_) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => match n {
                Number::Int(i) => json!(i),
                Number::Float(f) => json!(f),
                Number::Decimal(s) => s
                    .parse::<i64>()
                    .map(|i| json!(i))
                    .or_else(|_| s.parse::<f64>().map(|f| json!(f)))
                    .unwrap_or(J::Null),
            },
            Value::String(s) => J::String(s.clone()),
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                J::Array(v.iter().map(Value::to_json).collect())
            }
            Value::Map(m) | Value::Object(m) => {
                J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Dynamic(_, v) => v.to_json(),
        }
    }

    /// Builds a value of type `ty` from plain JSON. Object attributes missing from the
    /// JSON become null (Terraform requires every attribute to be present); keys the type
    /// does not know are dropped.
    pub fn from_json(json: &serde_json::Value, ty: &Type) -> Result<Value, ValueError> {
        use serde_json::Value as J;
        if json.is_null() {
            return Ok(Value::Null);
        }
        let mismatch = || ValueError::TypeMismatch {
            expected: ty.to_json().to_string(),
            found: json.to_string(),
        };
        Ok(match ty {
            Type::String => match json {
                J::String(s) => Value::String(s.clone()),
                J::Number(n) => Value::String(n.to_string()),
                J::Bool(b) => Value::String(b.to_string()),
                _ => return Err(mismatch()),
            },
            Type::Bool => Value::Bool(json.as_bool().ok_or_else(mismatch)?),
            Type::Number => match json {
                J::Number(n) => Value::Number(match n.as_i64() {
                    Some(i) => Number::Int(i),
                    None => match n.as_f64() {
                        Some(f) if n.is_f64() => Number::Float(f),
                        _ => Number::Decimal(n.to_string()),
                    },
                }),
                J::String(s) if s.parse::<f64>().is_ok() => {
                    Value::Number(Number::Decimal(s.clone()))
                }
                _ => return Err(mismatch()),
            },
            Type::Dynamic => {
                let inferred = infer_type(json);
                Value::Dynamic(
                    inferred.clone(),
                    Box::new(Value::from_json(json, &inferred)?),
                )
            }
            Type::List(t) | Type::Set(t) => {
                let items = json
                    .as_array()
                    .ok_or_else(mismatch)?
                    .iter()
                    .map(|j| Value::from_json(j, t))
                    .collect::<Result<Vec<_>, _>>()?;
                if matches!(ty, Type::Set(_)) {
                    Value::Set(items)
                } else {
                    Value::List(items)
                }
            }
            Type::Tuple(ts) => {
                let items = json.as_array().ok_or_else(mismatch)?;
                if items.len() != ts.len() {
                    return Err(mismatch());
                }
                Value::Tuple(
                    items
                        .iter()
                        .zip(ts)
                        .map(|(j, t)| Value::from_json(j, t))
                        .collect::<Result<_, _>>()?,
                )
            }
            Type::Map(t) => Value::Map(
                json.as_object()
                    .ok_or_else(mismatch)?
                    .iter()
                    .map(|(k, j)| Ok((k.clone(), Value::from_json(j, t)?)))
                    .collect::<Result<_, ValueError>>()?,
            ),
            Type::Object(attrs) => {
                let obj = json.as_object().ok_or_else(mismatch)?;
                let mut out = BTreeMap::new();
                for (name, t) in attrs {
                    let v = match obj.get(name) {
                        Some(j) => Value::from_json(j, t).map_err(|e| e.within(name))?,
                        None => Value::Null,
                    };
                    out.insert(name.clone(), v);
                }
                Value::Object(out)
            }
        })
    }

    /// A string value, or null for `None`.
    pub fn opt_string(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }

    /// A map of strings.
    pub fn string_map<'a>(m: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
        Value::Map(
            m.into_iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(Number::Int(i))
    }
}

fn infer_type(json: &serde_json::Value) -> Type {
    use serde_json::Value as J;
    match json {
        J::Bool(_) => Type::Bool,
        J::Number(_) => Type::Number,
        J::Array(items) => Type::Tuple(items.iter().map(infer_type).collect()),
        J::Object(m) => Type::Object(m.iter().map(|(k, v)| (k.clone(), infer_type(v))).collect()),
        _ => Type::String,
    }
}

/// Errors converting between values and their encodings.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ValueError {
    /// The data does not have the shape the type demands.
    #[error("expected a value of type {expected}, found {found}")]
    TypeMismatch { expected: String, found: String },
    /// An object attribute's value was wrong; `path` leads to it.
    #[error("attribute {path}: {source}")]
    Attribute {
        path: String,
        #[source]
        source: Box<ValueError>,
    },
    /// The msgpack bytes could not be read.
    #[error("invalid msgpack: {0}")]
    Msgpack(String),
    /// The JSON bytes could not be read.
    #[error("invalid JSON: {0}")]
    Json(String),
}

impl ValueError {
    fn within(self, name: &str) -> ValueError {
        match self {
            ValueError::Attribute { path, source } => ValueError::Attribute {
                path: format!("{name}.{path}"),
                source,
            },
            other => ValueError::Attribute {
                path: name.to_string(),
                source: Box::new(other),
            },
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (k, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {t}")?;
                }
                f.write_str("})")
            }
            Type::Tuple(ts) => {
                f.write_str("tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
        }
    }
}
