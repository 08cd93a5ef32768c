//! URL paths of the Kubernetes API, parsed into what they address.

/// What a request path addresses.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// `/healthz`, `/livez`, `/readyz`
    Health,
    Version,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1`, `/apis/{group}/{version}`
    Resources {
        group: String,
        version: String,
    },
    /// A collection, an object or an object's subresource.
    Object(ObjectPath),
    /// The legacy `/watch/` paths.
    Watch,
    Unknown,
}

/// A resource path: `namespace`/`name`/`subresource` are present when the path has them.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectPath {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

pub fn parse(path: &str) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return Route::Version,
        ["healthz" | "livez" | "readyz"] => return Route::Health,
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["apis", group] => return Route::Group((*group).into()),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Route::Unknown,
    };
    let object = |plural: &str, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        Route::Object(ObjectPath {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            namespace: namespace.map(Into::into),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
        })
    };
    match rest {
        [] => Route::Resources {
            group: group.into(),
            version: version.into(),
        },
        ["watch", ..] => Route::Watch,
        // `/api/v1/namespaces/{name}/status` is the namespace's own subresource.
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            object("namespaces", None, Some(name), Some(sub))
        }
        ["namespaces", ns, plural] => object(plural, Some(ns), None, None),
        ["namespaces", ns, plural, name] => object(plural, Some(ns), Some(name), None),
        ["namespaces", ns, plural, name, sub] => object(plural, Some(ns), Some(name), Some(sub)),
        [plural] => object(plural, None, None, None),
        [plural, name] => object(plural, None, Some(name), None),
        [plural, name, sub] => object(plural, None, Some(name), Some(sub)),
        _ => Route::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(route: Route) -> ObjectPath {
        match route {
            Route::Object(o) => o,
            other => panic!("not an object path: {other:?}"),
        }
    }

    #[test]
    fn namespaced_and_cluster_paths() {
        let o = obj(parse(
            "/apis/apps/v1/namespaces/data/statefulsets/redis/status",
        ));
        assert_eq!(
            (o.group.as_str(), o.plural.as_str()),
            ("apps", "statefulsets")
        );
        assert_eq!(o.namespace.as_deref(), Some("data"));
        assert_eq!(o.subresource.as_deref(), Some("status"));

        let o = obj(parse("/api/v1/namespaces/data"));
        assert_eq!(
            (o.plural.as_str(), o.name.as_deref(), o.namespace),
            ("namespaces", Some("data"), None)
        );

        let o = obj(parse("/api/v1/namespaces/data/status"));
        assert_eq!(
            (o.plural.as_str(), o.subresource.as_deref()),
            ("namespaces", Some("status"))
        );

        let o = obj(parse("/api/v1/namespaces/data/configmaps"));
        assert_eq!((o.plural.as_str(), o.name), ("configmaps", None));

        assert_eq!(
            parse("/apis/apps/v1"),
            Route::Resources {
                group: "apps".into(),
                version: "v1".into()
            }
        );
        assert_eq!(parse("/apis"), Route::Groups);
        assert_eq!(parse("/healthz"), Route::Health);
        assert_eq!(parse("/metrics"), Route::Unknown);
    }
}
