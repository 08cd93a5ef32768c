//! Kubernetes resource quantities (`500Gi`, `250m`, `2`) as written in workload documents:
//! kept as the user's text for the rendered objects, parsed only to compare sizes.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A quantity in Kubernetes notation. YAML numbers (`cpu: 2`) are accepted and kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Quantity(String);

/// Why a quantity could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a Kubernetes quantity (expected e.g. 500Gi, 8Gi, 250m or 2)")]
pub struct QuantityError {
    text: String,
}

impl Quantity {
    /// A quantity from its text; `value()` reports whether it parses.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The quantity as a number of base units (bytes for memory and storage, cores for CPU).
    pub fn value(&self) -> Result<f64, QuantityError> {
        parse(&self.0).ok_or_else(|| QuantityError {
            text: self.0.clone(),
        })
    }

    /// The k8s-openapi form.
    pub fn to_k8s(&self) -> k8s_openapi::apimachinery::pkg::api::resource::Quantity {
        k8s_openapi::apimachinery::pkg::api::resource::Quantity(self.0.clone())
    }
}

fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => 10f64.powi(exponent[1..].parse().ok()?),
        _ => return None,
    };
    (number.is_finite() && number >= 0.0).then_some(number * multiplier)
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Quantity {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Integer(u64),
            Float(f64),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Text(text) => text,
            Raw::Integer(n) => n.to_string(),
            Raw::Float(n) => n.to_string(),
        };
        if parse(&text).is_none() {
            return Err(serde::de::Error::custom(QuantityError { text }));
        }
        Ok(Self(text))
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes quantity: 500Gi, 8Gi, 250m, 2.",
            "anyOf": [
                { "type": "string", "pattern": "^[0-9.]+([numkMGTPE]|[KMGTPE]i|[eE][-+]?[0-9]+)?$" },
                { "type": "number", "minimum": 0 }
            ]
        })
    }
}

/// A Redis memory size (`6gb`, `512mb`, `1073741824`) in bytes; Redis reads `k`/`m`/`g`
/// as powers of 1000 and `kb`/`mb`/`gb` as powers of 1024.
pub fn redis_bytes(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let number: u64 = number.parse().ok()?;
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" => 1_000,
        "kb" => 1 << 10,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_suffixes() {
        assert_eq!(Quantity::from("8Gi").value(), Ok(8.0 * 1024f64.powi(3)));
        assert_eq!(Quantity::from("250m").value(), Ok(0.25));
        assert_eq!(Quantity::from("2").value(), Ok(2.0));
        assert_eq!(Quantity::from("1e3").value(), Ok(1000.0));
        assert!(Quantity::from("8GB").value().is_err());
        assert!(Quantity::from("lots").value().is_err());
    }

    #[test]
    fn numbers_are_read_as_text() {
        let q: Quantity = serde_json::from_value(serde_json::json!(2)).unwrap();
        assert_eq!(q.as_str(), "2");
        let err = serde_json::from_value::<Quantity>(serde_json::json!("8GB")).unwrap_err();
        assert!(
            err.to_string().contains("not a Kubernetes quantity"),
            "{err}"
        );
    }

    #[test]
    fn redis_units() {
        assert_eq!(redis_bytes("6gb"), Some(6 << 30));
        assert_eq!(redis_bytes("6g"), Some(6_000_000_000));
        assert_eq!(redis_bytes("100"), Some(100));
        assert_eq!(redis_bytes("6 GiB"), None);
    }
}
