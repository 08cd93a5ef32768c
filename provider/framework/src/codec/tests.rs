use std::collections::BTreeMap;

use super::*;

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn object_type(pairs: &[(&str, Type)]) -> Type {
    Type::Object(
        pairs
            .iter()
            .map(|(k, t)| (k.to_string(), t.clone()))
            .collect(),
    )
}

#[test]
fn null_is_nil_and_empty_bytes_are_null() {
    assert_eq!(encode(&Value::Null, &Type::String).unwrap(), vec![0xc0]);
    assert_eq!(decode(&[], &Type::String).unwrap(), Value::Null);
    assert_eq!(
        decode(&[0xc0], &Type::list(Type::String)).unwrap(),
        Value::Null
    );
}

#[test]
fn plain_unknown_is_fixext1_type0() {
    assert_eq!(
        encode(&Value::unknown(), &Type::String).unwrap(),
        vec![0xd4, 0, 0]
    );
    assert!(decode(&[0xd4, 0, 0], &Type::Number).unwrap().is_unknown());
}

#[test]
fn refined_unknown_keeps_its_refinements() {
    let refined = Value::Unknown(Box::new(Refinements {
        nullable: Some(false),
        string_prefix: Some("vpc-".into()),
        ..Default::default()
    }));
    let bytes = encode(&refined, &Type::String).unwrap();
    // ext type 12 with a map payload
    assert_eq!(decode(&bytes, &Type::String).unwrap(), refined);

    // As Terraform sends it: fixext/ext8 type 12 with a map {1: false, 5: 2}.
    let mut payload = Vec::new();
    rmpv::encode::write_value(
        &mut payload,
        &Mp::Map(vec![
            (Mp::from(1), Mp::from(false)),
            (Mp::from(5), Mp::from(2)),
            (Mp::from(99), Mp::from("future")),
        ]),
    )
    .unwrap();
    let mut wire = vec![0xc7, payload.len() as u8, 12];
    wire.extend(payload);
    let Value::Unknown(r) = decode(&wire, &Type::list(Type::String)).unwrap() else {
        panic!("expected unknown")
    };
    assert_eq!(r.nullable, Some(false));
    assert_eq!(r.length_lower, Some(2));
}

#[test]
fn numbers_keep_the_form_they_arrived_in() {
    let mut big = Vec::new();
    rmpv::encode::write_value(&mut big, &Mp::from("18446744073709551616")).unwrap();
    let v = decode(&big, &Type::Number).unwrap();
    assert_eq!(
        v,
        Value::Number(Number::Decimal("18446744073709551616".into()))
    );
    assert_eq!(encode(&v, &Type::Number).unwrap(), big);

    let mut tenth = Vec::new();
    rmpv::encode::write_value(&mut tenth, &Mp::from("0.1")).unwrap();
    let v = decode(&tenth, &Type::Number).unwrap();
    assert_eq!(encode(&v, &Type::Number).unwrap(), tenth);

    let i = encode(&Value::from(42), &Type::Number).unwrap();
    assert_eq!(i, vec![42]);
    assert_eq!(
        decode(&i, &Type::Number).unwrap(),
        Value::Number(Number::Int(42))
    );
    let f = encode(&Value::Number(Number::Float(1.5)), &Type::Number).unwrap();
    assert_eq!(
        decode(&f, &Type::Number).unwrap(),
        Value::Number(Number::Float(1.5))
    );
    // Equality is numeric, whatever the form.
    assert_eq!(Number::Decimal("3".into()), Number::Int(3));
    assert_eq!(Number::Float(3.0), Number::Int(3));
}

#[test]
fn nested_objects_round_trip_with_every_attribute_present() {
    let ty = object_type(&[
        ("name", Type::String),
        ("count", Type::Number),
        ("tags", Type::map(Type::String)),
        ("zones", Type::set(Type::String)),
        (
            "nested",
            Type::list(object_type(&[("a", Type::Bool), ("b", Type::String)])),
        ),
    ]);
    let v = obj(&[
        ("name", "x".into()),
        ("count", Value::unknown()),
        (
            "tags",
            Value::Map(BTreeMap::from([("k".to_string(), "v".into())])),
        ),
        ("zones", Value::Set(vec!["a".into(), "b".into()])),
        (
            "nested",
            Value::List(vec![obj(&[("a", true.into()), ("b", Value::Null)])]),
        ),
    ]);
    let bytes = encode(&v, &ty).unwrap();
    assert_eq!(decode(&bytes, &ty).unwrap(), v);

    // An object missing attributes is written with nils for them.
    let partial = obj(&[("name", "x".into())]);
    let back = decode(&encode(&partial, &ty).unwrap(), &ty).unwrap();
    assert_eq!(back.attr("name"), &Value::from("x"));
    assert_eq!(back.attr("tags"), &Value::Null);
    assert_eq!(back.entries().unwrap().len(), 5);
}

#[test]
fn unexpected_object_attribute_is_refused() {
    let ty = object_type(&[("a", Type::String)]);
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &Mp::Map(vec![(Mp::from("zzz"), Mp::from("x"))]))
        .unwrap();
    let err = decode(&bytes, &ty).unwrap_err();
    assert!(err.to_string().contains("zzz"), "{err}");
}

#[test]
fn dynamic_values_carry_their_type() {
    let inner_ty = Type::list(Type::String);
    let v = Value::Dynamic(inner_ty.clone(), Box::new(Value::List(vec!["a".into()])));
    let bytes = encode(&v, &Type::Dynamic).unwrap();
    let mut rd = &bytes[..];
    let Mp::Array(pair) = rmpv::decode::read_value(&mut rd).unwrap() else {
        panic!("dynamic must be a pair")
    };
    assert_eq!(pair[0], Mp::Binary(br#"["list","string"]"#.to_vec()));
    assert_eq!(decode(&bytes, &Type::Dynamic).unwrap(), v);
}

#[test]
fn type_mismatch_names_the_attribute() {
    let ty = object_type(&[("cidr", Type::String)]);
    let mut bytes = Vec::new();
    rmpv::encode::write_value(
        &mut bytes,
        &Mp::Map(vec![(Mp::from("cidr"), Mp::from(true))]),
    )
    .unwrap();
    let err = decode(&bytes, &ty).unwrap_err();
    assert!(err.to_string().starts_with("attribute cidr"), "{err}");
}

#[test]
fn json_state_decodes_with_missing_attributes_as_null() {
    let ty = object_type(&[("id", Type::String), ("tags", Type::map(Type::String))]);
    let v = decode_json(br#"{"id":"vpc-1","removed_attr":3}"#, &ty).unwrap();
    assert_eq!(v.attr("id"), &Value::from("vpc-1"));
    assert!(v.attr("tags").is_null());
}
