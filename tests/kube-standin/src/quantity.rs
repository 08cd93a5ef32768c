//! Resource quantities (`10Gi`, `500M`, `250m`): comparison, and the canonical form the
//! real server stores (`1024Mi` → `1Gi`, `0.5` → `500m`, a JSON number → a string), a
//! classic source of false drift.

use serde_json::Value;

const BINARY: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
const DECIMAL: [(i32, &str); 10] = [
    (-9, "n"),
    (-6, "u"),
    (-3, "m"),
    (0, ""),
    (3, "k"),
    (6, "M"),
    (9, "G"),
    (12, "T"),
    (15, "P"),
    (18, "E"),
];

#[derive(Clone, Copy, PartialEq)]
enum Format {
    BinarySi,
    DecimalSi,
    DecimalExponent,
}

/// The exact value in nano-units (rounded up, as the server rounds sub-nano values) and
/// the format the quantity was written in.
fn parse_exact(s: &str) -> Option<(i128, Format)> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > 18 || int.len() > 20 {
        return None;
    }
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    let (format, numerator, denominator): (Format, i128, i128) =
        if let Some(i) = BINARY.iter().position(|b| *b == suffix && !b.is_empty()) {
            (Format::BinarySi, 1024i128.pow(i as u32) * 1_000_000_000, 1)
        } else if let Some((exp, _)) = DECIMAL.iter().find(|(_, d)| *d == suffix) {
            let e = exp + 9;
            (Format::DecimalSi, 10i128.pow(e as u32), 1)
        } else if let Some(exp) = suffix.strip_prefix(['e', 'E']) {
            let e: i32 = exp.parse().ok()?;
            if !(-9..=18).contains(&e) {
                return None;
            }
            (Format::DecimalExponent, 10i128.pow((e + 9) as u32), 1)
        } else {
            return None;
        };
    let scaled = digits.checked_mul(numerator)?;
    let divisor = 10i128.pow(frac.len() as u32) * denominator;
    let nanos = (scaled + divisor - 1) / divisor;
    Some((if negative { -nanos } else { nanos }, format))
}

/// The canonical spelling of a quantity, or `None` when it does not parse.
pub fn canonical(v: &Value) -> Option<String> {
    let (nanos, format) = match v {
        Value::String(s) => parse_exact(s)?,
        Value::Number(n) => parse_exact(&n.to_string())?,
        _ => return None,
    };
    if nanos == 0 {
        return Some("0".into());
    }
    let (sign, mut n) = if nanos < 0 {
        ("-", -nanos)
    } else {
        ("", nanos)
    };
    let whole = n % 1_000_000_000 == 0;
    if format == Format::BinarySi && whole && n / 1_000_000_000 >= 1024 {
        let mut value = n / 1_000_000_000;
        let mut i = 0;
        while i < BINARY.len() - 1 && value % 1024 == 0 {
            value /= 1024;
            i += 1;
        }
        return Some(format!("{sign}{value}{}", BINARY[i]));
    }
    let mut exp = -9;
    while exp < 18 && n % 1000 == 0 {
        n /= 1000;
        exp += 3;
    }
    let suffix = match format {
        Format::DecimalExponent if exp == 0 => String::new(),
        Format::DecimalExponent => format!("e{exp}"),
        _ => DECIMAL
            .iter()
            .find(|(e, _)| *e == exp)
            .map(|(_, s)| s.to_string())
            .unwrap_or_default(),
    };
    Some(format!("{sign}{n}{suffix}"))
}

/// Maps whose values are quantities in the built-in kinds.
const QUANTITY_MAPS: [&str; 10] = [
    "requests",
    "limits",
    "capacity",
    "allocatable",
    "hard",
    "used",
    "overhead",
    "max",
    "min",
    "defaultRequest",
];

/// Rewrites every quantity of a built-in object in canonical form.
pub fn canonicalize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                let quantity_map = QUANTITY_MAPS.contains(&k.as_str()) || k == "default";
                match child {
                    Value::Object(values) if quantity_map => {
                        for q in values.values_mut() {
                            if let Some(c) = canonical(q) {
                                *q = Value::String(c);
                            }
                        }
                    }
                    Value::String(_) | Value::Number(_) if k == "sizeLimit" => {
                        if let Some(c) = canonical(child) {
                            *child = Value::String(c);
                        }
                    }
                    _ => canonicalize(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonicalize),
        _ => {}
    }
}

/// The value of a quantity (a string, or a bare number), or `None` when it does not parse.
pub fn parse(v: &Value) -> Option<f64> {
    let s = match v {
        Value::String(s) => s.trim(),
        Value::Number(n) => return n.as_f64(),
        _ => return None,
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse().ok()?),
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binary_and_decimal_suffixes() {
        assert_eq!(parse(&json!("1Gi")), Some(1073741824.0));
        assert_eq!(parse(&json!("1G")), Some(1e9));
        assert_eq!(parse(&json!("250m")), Some(0.25));
        assert!(parse(&json!("2Gi")).unwrap() > parse(&json!("1500Mi")).unwrap());
        assert_eq!(parse(&json!("ten")), None);
    }

    #[test]
    fn canonical_forms() {
        let c = |v: Value| canonical(&v).unwrap();
        assert_eq!(c(json!("1024Mi")), "1Gi");
        assert_eq!(c(json!("1536Mi")), "1536Mi");
        assert_eq!(c(json!("0.5")), "500m");
        assert_eq!(c(json!("1000m")), "1");
        assert_eq!(c(json!("1500m")), "1500m");
        assert_eq!(c(json!("2000")), "2k");
        assert_eq!(c(json!(1)), "1");
        assert_eq!(c(json!("512")), "512");
        assert_eq!(c(json!("0.5Gi")), "512Mi");
        assert_eq!(c(json!("100Ki")), "100Ki");
        assert_eq!(c(json!("1e3")), "1e3");
        assert_eq!(c(json!("0")), "0");
        assert_eq!(c(json!("1.5Gi")), "1536Mi");
        assert!(canonical(&json!("lots")).is_none());
    }

    #[test]
    fn canonicalizes_known_maps_only() {
        let mut v = json!({"spec": {"containers": [{"resources": {"requests": {"memory": "1024Mi", "cpu": 0.5}}}],
            "volumes": [{"emptyDir": {"sizeLimit": "2048Mi"}}], "other": {"x": "1024Mi"}}});
        canonicalize(&mut v);
        assert_eq!(
            v["spec"]["containers"][0]["resources"]["requests"],
            json!({"memory": "1Gi", "cpu": "500m"})
        );
        assert_eq!(v["spec"]["volumes"][0]["emptyDir"]["sizeLimit"], "2Gi");
        assert_eq!(v["spec"]["other"]["x"], "1024Mi");
    }
}
