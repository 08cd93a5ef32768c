//! The servers' password, from the Secret the document names (`spec.auth`, by default
//! key `password` of `<name>-auth`). Read at each run so a rotated password is used at
//! once; never logged.

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use strata_agent_core::spec::RedisCluster;

use super::member::Password;
use crate::error::Error;

/// The password, or `None` when the servers have none: the key is empty, or the
/// document names no Secret and the default one does not exist.
pub async fn password(
    client: &kube::Client,
    workload: &RedisCluster,
) -> Result<Option<Password>, Error> {
    let namespace = &workload.metadata.namespace;
    let auth = workload.spec.auth(&workload.metadata.name);
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(&auth.name)
        .await
        .map_err(|source| Error::ReadSecret {
            namespace: namespace.clone(),
            name: auth.name.clone(),
            source,
        })?;
    let Some(secret) = secret else {
        // The pods take --requirepass from this Secret, so without it they would not
        // start; only the implicit default may be absent (servers without a password).
        return match workload.spec.auth {
            Some(_) => Err(Error::SecretMissing {
                namespace: namespace.clone(),
                name: auth.name,
            }),
            None => Ok(None),
        };
    };
    let bytes = secret
        .data
        .as_ref()
        .and_then(|data| data.get(&auth.key))
        .map(|value| value.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|data| data.get(&auth.key))
                .map(|value| value.clone().into_bytes())
        })
        .ok_or_else(|| Error::SecretKeyMissing {
            namespace: namespace.clone(),
            name: auth.name.clone(),
            key: auth.key.clone(),
        })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::SecretNotUtf8 {
        namespace: namespace.clone(),
        name: auth.name.clone(),
        key: auth.key.clone(),
    })?;
    Ok((!text.is_empty()).then(|| Password::new(text)))
}
