//! Schemas: what a resource's configuration and state look like, and how each
//! attribute behaves in a plan.
//!
//! Plan behaviour is declared on the attribute ([`PlanModifier`], defaults, validators)
//! so the framework can enforce it for every resource and the docs generator can
//! describe it.

use std::collections::BTreeMap;

use crate::diag::{AttributePath, Diagnostics};
use crate::value::{Type, Value};

/// The schema of a resource, data source or provider configuration.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// Bumped when the state layout changes; older states go through `upgrade_state`.
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    /// Markdown.
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub deprecated: bool,
}

/// How an attribute's value comes to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Required,
    Optional,
    /// Set by the provider only.
    Computed,
    /// Set by the practitioner, or by the provider when left out.
    OptionalComputed,
}

/// Declared plan behaviour of an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanModifier {
    /// A change to this attribute replaces the whole resource.
    RequiresReplace,
    /// A computed value that never changes once set: keep the prior state's value in
    /// plans instead of showing "known after apply".
    UseStateForUnknown,
}

/// A check on a configured (known) value, reported with the attribute's path.
#[derive(Clone, Debug)]
pub enum Validator {
    /// The string must be one of these.
    OneOf(Vec<&'static str>),
    /// An IPv4 CIDR block, e.g. `10.0.0.0/16`, on its network address.
    Ipv4Cidr,
    /// Every value of a map(string) must be an IPv4 CIDR block.
    Ipv4CidrValues,
    /// A duration such as `30m`, `1h30m` or `45s`.
    Duration,
    /// A number within these inclusive bounds.
    IntBetween(i64, i64),
    /// A string of at least this many characters.
    MinLength(usize),
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    /// Markdown.
    pub description: String,
    pub presence: Presence,
    pub sensitive: bool,
    /// Write-only (Terraform 1.11+): the value is only ever in the configuration, never
    /// in a plan or the state. The framework nulls it in every state it returns; the
    /// resource reads it from `config` (plan and apply).
    pub write_only: bool,
    pub modifiers: Vec<PlanModifier>,
    /// Planned when the configuration leaves the attribute out (needs `OptionalComputed`).
    pub default: Option<Value>,
    pub validators: Vec<Validator>,
}

impl Attribute {
    fn new(name: &str, ty: Type, presence: Presence) -> Self {
        Attribute {
            name: name.to_string(),
            ty,
            description: String::new(),
            presence,
            sensitive: false,
            write_only: false,
            modifiers: Vec::new(),
            default: None,
            validators: Vec::new(),
        }
    }
    pub fn required(name: &str, ty: Type) -> Self {
        Self::new(name, ty, Presence::Required)
    }
    pub fn optional(name: &str, ty: Type) -> Self {
        Self::new(name, ty, Presence::Optional)
    }
    pub fn computed(name: &str, ty: Type) -> Self {
        Self::new(name, ty, Presence::Computed)
    }
    pub fn optional_computed(name: &str, ty: Type) -> Self {
        Self::new(name, ty, Presence::OptionalComputed)
    }
    pub fn describe(mut self, markdown: &str) -> Self {
        self.description = markdown.to_string();
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Write-only: kept out of plans and the state (see [`Attribute::write_only`]).
    /// Not for computed attributes or ones with a default.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    pub fn requires_replace(mut self) -> Self {
        self.modifiers.push(PlanModifier::RequiresReplace);
        self
    }
    pub fn use_state_for_unknown(mut self) -> Self {
        self.modifiers.push(PlanModifier::UseStateForUnknown);
        self
    }
    /// A default makes the attribute optional+computed: the plan shows the default.
    pub fn default(mut self, v: impl Into<Value>) -> Self {
        self.default = Some(v.into());
        self.presence = Presence::OptionalComputed;
        self
    }
    pub fn validate(mut self, v: Validator) -> Self {
        self.validators.push(v);
        self
    }
    pub fn has(&self, m: PlanModifier) -> bool {
        self.modifiers.contains(&m)
    }
    pub fn is_computed(&self) -> bool {
        matches!(
            self.presence,
            Presence::Computed | Presence::OptionalComputed
        )
    }
}

/// How a nested block repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one (`timeouts { … }`); null when absent.
    Single,
    /// Ordered, any number.
    List,
    /// Unordered, any number.
    Set,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

impl NestedBlock {
    pub fn single(name: &str, block: Block) -> Self {
        NestedBlock {
            name: name.to_string(),
            nesting: Nesting::Single,
            block,
            min_items: 0,
            max_items: 0,
        }
    }
}

impl Block {
    /// The object type of values of this block.
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            let inner = b.block.value_type();
            let ty = match b.nesting {
                Nesting::Single => inner,
                Nesting::List => Type::list(inner),
                Nesting::Set => Type::set(inner),
            };
            attrs.insert(b.name.clone(), ty);
        }
        Type::Object(attrs)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Runs the declared validators of every attribute (recursively through blocks)
    /// against known values of `config`.
    pub fn validate_config(&self, config: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        for attr in &self.attributes {
            let v = config.attr(&attr.name);
            let p = path.clone().attr(&attr.name);
            for validator in &attr.validators {
                validator.check(v, &p, diags);
            }
        }
        for b in &self.blocks {
            let v = config.attr(&b.name);
            let p = path.clone().attr(&b.name);
            match (b.nesting, v) {
                (Nesting::Single, v) if !v.is_null() => b.block.validate_config(v, &p, diags),
                (_, Value::List(items) | Value::Set(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        b.block
                            .validate_config(item, &p.clone().index(i as i64), diags);
                    }
                }
                _ => {}
            }
        }
    }
}

impl Schema {
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}

/// Parses durations of the form Terraform users write in `timeouts`: `30s`, `10m`, `1h30m`.
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    let mut saw_unit = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        saw_unit = true;
    }
    (digits.is_empty() && saw_unit).then(|| std::time::Duration::from_secs(total))
}

impl Validator {
    /// Markdown for the docs, e.g. "one of `none`, `single`".
    pub fn describe(&self) -> String {
        match self {
            Validator::OneOf(opts) => format!(
                "One of {}.",
                opts.iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Validator::Ipv4Cidr => "An IPv4 CIDR block.".into(),
            Validator::Ipv4CidrValues => "Each value is an IPv4 CIDR block.".into(),
            Validator::Duration => "A duration such as `30s`, `10m` or `1h30m`.".into(),
            Validator::IntBetween(lo, hi) => format!("Between {lo} and {hi}."),
            Validator::MinLength(n) => format!("At least {n} characters."),
        }
    }

    fn check(&self, v: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if v.is_null() || v.is_unknown() {
            return;
        }
        match self {
            Validator::OneOf(opts) => {
                if let Some(s) = v.as_str()
                    && !opts.contains(&s)
                {
                    diags.attribute_error(
                        path.clone(),
                        "Invalid value",
                        // "One of `Retain`, …" → "one of `Retain`, …": the values keep
                        // their case (they are case-sensitive).
                        format!("{path} is {s:?}; it must be o{}", &self.describe()[1..]),
                    );
                }
            }
            Validator::Ipv4Cidr => {
                if let Some(s) = v.as_str() {
                    check_cidr(s, path, diags);
                }
            }
            Validator::Ipv4CidrValues => {
                if let Some(m) = v.entries() {
                    for (k, item) in m {
                        if let Some(s) = item.as_str() {
                            check_cidr(s, &path.clone().key(k), diags);
                        }
                    }
                }
            }
            Validator::Duration => {
                if let Some(s) = v.as_str()
                    && parse_duration(s).is_none()
                {
                    diags.attribute_error(
                        path.clone(),
                        "Invalid duration",
                        format!("{path} is {s:?}; write a duration such as \"30s\", \"10m\" or \"1h30m\""),
                    );
                }
            }
            Validator::IntBetween(lo, hi) => {
                if let Value::Number(n) = v {
                    match n.as_i64() {
                        Some(i) if (*lo..=*hi).contains(&i) => {}
                        _ => diags.attribute_error(
                            path.clone(),
                            "Value out of range",
                            format!("{path} must be a whole number between {lo} and {hi}"),
                        ),
                    }
                }
            }
            Validator::MinLength(n) => {
                if let Some(s) = v.as_str()
                    && s.chars().count() < *n
                {
                    diags.attribute_error(
                        path.clone(),
                        "Value too short",
                        format!("{path} must have at least {n} characters"),
                    );
                }
            }
        }
    }
}

fn check_cidr(s: &str, path: &AttributePath, diags: &mut Diagnostics) {
    let problem = match parse_ipv4_cidr(s) {
        Ok(_) => return,
        Err(p) => p,
    };
    diags.attribute_error(
        path.clone(),
        "Invalid CIDR block",
        format!("{path} is {s:?}: {problem}. Write an IPv4 network such as \"10.0.0.0/16\"."),
    );
}

/// Parses `a.b.c.d/len`, insisting on the network address (no host bits set), as AWS does.
pub fn parse_ipv4_cidr(s: &str) -> Result<(std::net::Ipv4Addr, u8), String> {
    let (addr, len) = s
        .split_once('/')
        .ok_or("it has no prefix length (\"/N\")")?;
    let addr: std::net::Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| format!("prefix length {len:?} is not between 0 and 32"))?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    if u32::from(addr) & !mask != 0 {
        let net = std::net::Ipv4Addr::from(u32::from(addr) & mask);
        return Err(format!("host bits are set (did you mean {net}/{len}?)"));
    }
    Ok((addr, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m").unwrap().as_secs(), 600);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("45s").unwrap().as_secs(), 45);
        assert!(parse_duration("10").is_none());
        assert!(parse_duration("ten minutes").is_none());
    }

    #[test]
    fn cidr_validation_names_the_problem() {
        assert!(parse_ipv4_cidr("10.0.0.0/16").is_ok());
        assert!(
            parse_ipv4_cidr("10.0.0.0/33")
                .unwrap_err()
                .contains("prefix length")
        );
        assert!(
            parse_ipv4_cidr("10.0.0.1/16")
                .unwrap_err()
                .contains("10.0.0.0/16")
        );
        assert!(parse_ipv4_cidr("banana").is_err());
    }

    #[test]
    fn validators_report_the_attribute_path() {
        let block = Block {
            attributes: vec![
                Attribute::optional("mode", Type::String)
                    .validate(Validator::OneOf(vec!["a", "b"])),
                Attribute::optional("cidrs", Type::map(Type::String))
                    .validate(Validator::Ipv4CidrValues),
            ],
            ..Default::default()
        };
        let config = Value::Object(
            [
                ("mode".to_string(), Value::from("c")),
                (
                    "cidrs".to_string(),
                    Value::Map([("az1".to_string(), Value::from("10.0.0.0/99"))].into()),
                ),
            ]
            .into(),
        );
        let mut diags = Diagnostics::default();
        block.validate_config(&config, &AttributePath::default(), &mut diags);
        assert_eq!(diags.0.len(), 2);
        assert_eq!(diags.0[0].attribute, Some(AttributePath::root("mode")));
        assert_eq!(
            diags.0[1].attribute,
            Some(AttributePath::root("cidrs").key("az1"))
        );
    }
}
