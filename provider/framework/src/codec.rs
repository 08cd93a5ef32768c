//! The msgpack wire form of [`Value`]s (`DynamicValue.msgpack`).
//!
//! Decoding needs the schema type: msgpack alone cannot tell a list from a set or a map
//! from an object. Unknown values are msgpack extensions (any type; type 12 carries
//! refinements), numbers may arrive as decimal strings, `dynamic` values are
//! `[type JSON, value]` pairs. The msgpack itself is read and written by `rmpv`.

use std::collections::BTreeMap;

use rmpv::Value as Mp;

use crate::value::{Number, Refinements, Type, Value, ValueError};

/// Extension type Terraform uses for unknown values that carry refinements.
const REFINED_UNKNOWN_EXT: i8 = 12;

/// Decodes msgpack bytes as a value of type `ty`. Empty input is a (typed) null.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut rd = bytes;
    let mp = rmpv::decode::read_value(&mut rd).map_err(|e| ValueError::Msgpack(e.to_string()))?;
    from_mp(mp, ty)
}

/// Encodes `value` as msgpack for type `ty`. Objects are written with every attribute of
/// the type, as Terraform requires.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mp = to_mp(value, ty)?;
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &mp).map_err(|e| ValueError::Msgpack(e.to_string()))?;
    Ok(out)
}

/// Decodes the JSON form (`raw_state.json`, `DynamicValue.json`) as type `ty`.
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ValueError::Json(e.to_string()))?;
    Value::from_json(&json, ty)
}

fn mismatch(ty: &Type, found: &Mp) -> ValueError {
    ValueError::TypeMismatch {
        expected: ty.to_string(),
        found: found.to_string(),
    }
}

fn from_mp(mp: Mp, ty: &Type) -> Result<Value, ValueError> {
    match mp {
        Mp::Nil => return Ok(Value::Null),
        Mp::Ext(kind, data) => {
            let refinements = if kind == REFINED_UNKNOWN_EXT {
                read_refinements(&data)?
            } else {
                Refinements::default()
            };
            return Ok(Value::Unknown(Box::new(refinements)));
        }
        _ => {}
    }
    Ok(match ty {
        Type::String => match mp {
            Mp::String(s) => Value::String(
                s.into_str()
                    .ok_or_else(|| ValueError::Msgpack("string is not valid UTF-8".into()))?,
            ),
            Mp::Binary(b) => Value::String(
                String::from_utf8(b)
                    .map_err(|_| ValueError::Msgpack("string is not valid UTF-8".into()))?,
            ),
            other => return Err(mismatch(ty, &other)),
        },
        Type::Bool => match mp {
            Mp::Boolean(b) => Value::Bool(b),
            other => return Err(mismatch(ty, &other)),
        },
        Type::Number => Value::Number(read_number(&mp).ok_or_else(|| mismatch(ty, &mp))?),
        Type::Dynamic => match mp {
            Mp::Array(mut pair) if pair.len() == 2 => {
                let inner = pair.pop().unwrap_or(Mp::Nil);
                let type_json = match pair.pop() {
                    Some(Mp::Binary(b)) => b,
                    Some(Mp::String(s)) => s.into_bytes(),
                    _ => return Err(ValueError::Msgpack("dynamic value without its type".into())),
                };
                let json: serde_json::Value = serde_json::from_slice(&type_json)
                    .map_err(|e| ValueError::Msgpack(format!("dynamic value type: {e}")))?;
                let inner_ty = Type::from_json(&json).ok_or_else(|| {
                    ValueError::Msgpack(format!("dynamic value has unknown type {json}"))
                })?;
                let v = from_mp(inner, &inner_ty)?;
                Value::Dynamic(inner_ty, Box::new(v))
            }
            other => return Err(mismatch(ty, &other)),
        },
        Type::List(t) | Type::Set(t) => {
            let Mp::Array(items) = mp else {
                return Err(mismatch(ty, &mp));
            };
            let items = items
                .into_iter()
                .map(|i| from_mp(i, t))
                .collect::<Result<Vec<_>, _>>()?;
            if matches!(ty, Type::Set(_)) {
                Value::Set(items)
            } else {
                Value::List(items)
            }
        }
        Type::Tuple(ts) => {
            let Mp::Array(items) = mp else {
                return Err(mismatch(ty, &mp));
            };
            if items.len() != ts.len() {
                return Err(mismatch(ty, &Mp::Array(items)));
            }
            Value::Tuple(
                items
                    .into_iter()
                    .zip(ts)
                    .map(|(i, t)| from_mp(i, t))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Map(t) => {
            let Mp::Map(entries) = mp else {
                return Err(mismatch(ty, &mp));
            };
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = map_key(k)?;
                out.insert(key, from_mp(v, t)?);
            }
            Value::Map(out)
        }
        Type::Object(attrs) => {
            let Mp::Map(entries) = mp else {
                return Err(mismatch(ty, &mp));
            };
            let mut out: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, v) in entries {
                let key = map_key(k)?;
                let Some(t) = attrs.get(&key) else {
                    return Err(ValueError::Msgpack(format!(
                        "object has attribute {key:?} that its type does not declare"
                    )));
                };
                let v = from_mp(v, t).map_err(|e| ValueError::Attribute {
                    path: key.clone(),
                    source: Box::new(e),
                })?;
                out.insert(key, v);
            }
            Value::Object(out)
        }
    })
}

fn map_key(k: Mp) -> Result<String, ValueError> {
    match k {
        Mp::String(s) => s
            .into_str()
            .ok_or_else(|| ValueError::Msgpack("map key is not valid UTF-8".into())),
        other => Err(ValueError::Msgpack(format!(
            "map key {other} is not a string"
        ))),
    }
}

fn read_number(mp: &Mp) -> Option<Number> {
    match mp {
        Mp::Integer(i) => Some(match i.as_i64() {
            Some(v) => Number::Int(v),
            None => Number::Decimal(i.as_u64()?.to_string()),
        }),
        Mp::F32(f) => Some(Number::Float(f64::from(*f))),
        Mp::F64(f) => Some(Number::Float(*f)),
        Mp::String(s) => {
            let s = s.as_str()?;
            s.parse::<f64>().ok()?;
            Some(Number::Decimal(s.to_string()))
        }
        _ => None,
    }
}

fn read_refinements(data: &[u8]) -> Result<Refinements, ValueError> {
    let mut out = Refinements::default();
    if data.is_empty() {
        return Ok(out);
    }
    let mut rd = data;
    let Ok(Mp::Map(entries)) = rmpv::decode::read_value(&mut rd) else {
        // Unreadable refinements only lose precision, never meaning: keep the unknown.
        return Ok(out);
    };
    let bound = |v: &Mp| -> Option<(Number, bool)> {
        let Mp::Array(pair) = v else { return None };
        Some((read_number(pair.first()?)?, pair.get(1)?.as_bool()?))
    };
    for (k, v) in &entries {
        match k.as_i64() {
            Some(1) => out.nullable = v.as_bool(),
            Some(2) => out.string_prefix = v.as_str().map(str::to_string),
            Some(3) => out.number_lower = bound(v),
            Some(4) => out.number_upper = bound(v),
            Some(5) => out.length_lower = v.as_u64(),
            Some(6) => out.length_upper = v.as_u64(),
            // Keys added by later protocol versions are refinements we may ignore.
            _ => {}
        }
    }
    Ok(out)
}

fn write_refinements(r: &Refinements) -> Result<Vec<u8>, ValueError> {
    let num = |n: &Number| match n {
        Number::Int(i) => Mp::from(*i),
        Number::Float(f) => Mp::from(*f),
        Number::Decimal(s) => Mp::from(s.as_str()),
    };
    let mut entries = Vec::new();
    if let Some(b) = r.nullable {
        entries.push((Mp::from(1), Mp::from(b)));
    }
    if let Some(p) = &r.string_prefix {
        entries.push((Mp::from(2), Mp::from(p.as_str())));
    }
    if let Some((n, inc)) = &r.number_lower {
        entries.push((Mp::from(3), Mp::Array(vec![num(n), Mp::from(*inc)])));
    }
    if let Some((n, inc)) = &r.number_upper {
        entries.push((Mp::from(4), Mp::Array(vec![num(n), Mp::from(*inc)])));
    }
    if let Some(l) = r.length_lower {
        entries.push((Mp::from(5), Mp::from(l)));
    }
    if let Some(l) = r.length_upper {
        entries.push((Mp::from(6), Mp::from(l)));
    }
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &Mp::Map(entries))
        .map_err(|e| ValueError::Msgpack(e.to_string()))?;
    Ok(out)
}

fn to_mp(value: &Value, ty: &Type) -> Result<Mp, ValueError> {
    let mismatch = || ValueError::TypeMismatch {
        expected: ty.to_string(),
        found: format!("{value:?}"),
    };
    Ok(match (value, ty) {
        (Value::Null, _) => Mp::Nil,
        (Value::Unknown(r), _) => {
            if **r == Refinements::default() {
                // fixext1, type 0, payload 0: the plain unknown (`d4 00 00`).
                Mp::Ext(0, vec![0])
            } else {
                Mp::Ext(REFINED_UNKNOWN_EXT, write_refinements(r)?)
            }
        }
        (Value::Dynamic(t, v), Type::Dynamic) => {
            let type_json = t.to_json().to_string().into_bytes();
            Mp::Array(vec![Mp::Binary(type_json), to_mp(v, t)?])
        }
        (Value::Dynamic(_, v), _) => to_mp(v, ty)?,
        (Value::Bool(b), Type::Bool) => Mp::Boolean(*b),
        (Value::String(s), Type::String) => Mp::from(s.as_str()),
        (Value::Number(n), Type::Number) => match n {
            Number::Int(i) => Mp::from(*i),
            Number::Float(f) => Mp::F64(*f),
            Number::Decimal(s) => Mp::from(s.as_str()),
        },
        (Value::List(items), Type::List(t)) | (Value::Set(items), Type::Set(t)) => Mp::Array(
            items
                .iter()
                .map(|i| to_mp(i, t))
                .collect::<Result<_, _>>()?,
        ),
        // A list given where a set is declared (or the reverse) is the same on the wire.
        (Value::Set(items), Type::List(t)) | (Value::List(items), Type::Set(t)) => Mp::Array(
            items
                .iter()
                .map(|i| to_mp(i, t))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Tuple(items), Type::Tuple(ts)) if items.len() == ts.len() => Mp::Array(
            items
                .iter()
                .zip(ts)
                .map(|(i, t)| to_mp(i, t))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Map(m), Type::Map(t)) | (Value::Object(m), Type::Map(t)) => Mp::Map(
            m.iter()
                .map(|(k, v)| Ok((Mp::from(k.as_str()), to_mp(v, t)?)))
                .collect::<Result<_, ValueError>>()?,
        ),
        (Value::Object(m), Type::Object(attrs)) | (Value::Map(m), Type::Object(attrs)) => Mp::Map(
            attrs
                .iter()
                .map(|(k, t)| {
                    let v = m.get(k).unwrap_or(&Value::Null);
                    let mp = to_mp(v, t).map_err(|e| ValueError::Attribute {
                        path: k.clone(),
                        source: Box::new(e),
                    })?;
                    Ok((Mp::from(k.as_str()), mp))
                })
                .collect::<Result<_, ValueError>>()?,
        ),
        _ => return Err(mismatch()),
    })
}

#[cfg(test)]
mod tests;
