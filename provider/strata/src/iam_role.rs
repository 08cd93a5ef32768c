//! Service roles the provider creates on the user's behalf (the EKS cluster role, the
//! node group's instance role) when a resource is given no role ARN.
//!
//! * [`ensure_service_role`] creates a role that `service_principal` may assume, tagged
//!   as ours ([`MANAGED_BY`]), and attaches the managed policies. It is idempotent: a
//!   role of that name that carries our tag (left by an earlier, interrupted apply) is
//!   adopted and its policies re-attached; a role that is *not* ours is never touched. With an [`OWNER`] tag among
//!   the caller's tags, a role made for another owner is not adopted either.
//! * [`delete_service_role`] detaches its managed policies, deletes its inline policies,
//!   takes it out of instance profiles and deletes it. A role already gone is fine; a
//!   role without our tag is refused, so a name collision cannot delete someone else's.
//! * [`is_role_propagation_error`] recognises the errors AWS services return while a
//!   just-created role is not yet visible to them (IAM is eventually consistent), so the
//!   caller can retry those (bounded) and nothing else.
//! * [`service_role_exists`] tells a resource's read whether a role it created is still
//!   there (so a resource whose main object vanished can keep its role in state).

use crate::aws::{SdkFailure, sdk_failure};
use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;
use tokio::time::Instant;

/// The ARN of an IAM role (`arn:aws:iam::123456789012:role/name`).
pub type RoleArn = String;

/// Tag key marking a role as created (and so deletable) by this provider.
pub const MANAGED_BY: &str = "strata.dev/managed-by";
/// [`MANAGED_BY`]'s value.
pub const MANAGED_BY_VALUE: &str = "terraform-provider-strata";
/// Optional tag key naming the object a role was made for (e.g.
/// `eks-cluster/us-west-2/prod`). IAM is global while the objects are regional, so two
/// resources can derive the same role name; when the caller's tags carry this key,
/// [`ensure_service_role`] adopts an existing role only if it has the same owner.
pub const OWNER: &str = "strata.dev/owner";

/// How long IAM's own eventual consistency is waited out inside this module (a policy
/// attach right after the role's creation, a delete right after a detach).
const IAM_CONSISTENCY_WINDOW: Duration = Duration::from_secs(60);

/// Errors of the service-role helper.
#[derive(Debug, thiserror::Error)]
pub enum IamRoleError {
    /// An IAM call failed (after the SDK's retries and ours).
    #[error("failed to {operation} iam role {role}: {}", match .code { Some(c) => format!("{c}: {message}"), None => message.clone() })]
    Aws {
        /// The operation (`create`, `attach policy … to`, `delete`…).
        operation: String,
        /// The role name.
        role: String,
        /// The AWS error code (`EntityAlreadyExists`, `DeleteConflict`…).
        code: Option<String>,
        /// The AWS error message, or the transport error chain.
        message: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A role of that name exists and was not created by this provider.
    #[error(
        "iam role {role} already exists and is not managed by this provider (it lacks the \
         `{MANAGED_BY}` tag): pass its ARN as `role_arn`, or choose another name"
    )]
    NotOurs {
        /// The role name.
        role: String,
    },
    /// A role of that name was created by this provider for another object (its
    /// [`OWNER`] tag differs).
    #[error(
        "iam role {role} already exists for {owner} (its `{OWNER}` tag), not for this \
         resource: pass a `role_arn`, or use another name"
    )]
    OwnedByAnother {
        /// The role name.
        role: String,
        /// The owner the existing role names.
        owner: String,
    },
    /// A successful response lacked the role.
    #[error("unexpected response to {operation} iam role {role}: no role in the response")]
    UnexpectedResponse {
        /// The operation.
        operation: &'static str,
        /// The role name.
        role: String,
    },
}

impl IamRoleError {
    /// The role exists but is not this caller's ([`IamRoleError::NotOurs`] or
    /// [`IamRoleError::OwnedByAnother`]): nothing was created, and the role must not be
    /// recorded as created (nor ever deleted) by the caller.
    pub fn is_not_ours(&self) -> bool {
        matches!(
            self,
            IamRoleError::NotOurs { .. } | IamRoleError::OwnedByAnother { .. }
        )
    }

    fn code(&self) -> Option<&str> {
        match self {
            IamRoleError::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

type Result<T> = std::result::Result<T, IamRoleError>;

fn aws_error<E, R>(
    operation: impl Into<String>,
    role: &str,
) -> impl FnOnce(SdkError<E, R>) -> IamRoleError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let operation = operation.into();
    let role = role.to_owned();
    move |err| {
        let SdkFailure {
            code,
            message,
            source,
        } = sdk_failure(err);
        IamRoleError::Aws {
            operation,
            role,
            code,
            message,
            source,
        }
    }
}

/// The AWS partition of `region` (`aws`, `aws-cn`, `aws-us-gov`), for building ARNs.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The ARN of the AWS managed policy `name` (e.g. `AmazonEKSClusterPolicy`) in
/// `partition`.
pub fn managed_policy_arn(partition: &str, name: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/{name}")
}

/// The trust policy letting `service_principal` (e.g. `eks.amazonaws.com`) assume the
/// role.
pub fn trust_policy(service_principal: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service_principal },
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string()
}

/// Whether an error from another service (EKS `CreateCluster`, `CreateNodegroup`…)
/// means the role it was given was created moments ago and has not propagated yet:
/// EKS answers `InvalidParameterException` with a message about the role not being
/// assumable / not existing. Retry those (bounded); they are not the user's mistake.
pub fn is_role_propagation_error(code: Option<&str>, message: &str) -> bool {
    if code != Some("InvalidParameterException") {
        return false;
    }
    let m = message.to_ascii_lowercase();
    m.contains("role")
        && (m.contains("could not be assumed")
            || m.contains("cannot be assumed")
            || m.contains("does not exist")
            || m.contains("not authorized to perform")
            || m.contains("trusted entity")
            || m.contains("is not authorized"))
}

/// Creates (or adopts, when it is already ours) the role `name` that
/// `service_principal` may assume, attaches `policy_arns`, and returns its ARN.
///
/// `tags` (the resource's tags) go on the role together with [`MANAGED_BY`]. Policies
/// already attached are left attached; attaching is idempotent.
pub async fn ensure_service_role(
    iam: &Client,
    name: &str,
    service_principal: &str,
    policy_arns: &[&str],
    tags: &BTreeMap<String, String>,
) -> Result<RoleArn> {
    let mut all_tags: Vec<Tag> = tags
        .iter()
        .filter(|(k, _)| k.as_str() != MANAGED_BY)
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    all_tags.extend(
        Tag::builder()
            .key(MANAGED_BY)
            .value(MANAGED_BY_VALUE)
            .build()
            .ok(),
    );
    let created = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust_policy(service_principal))
        .description(format!(
            "Service role for {service_principal}, managed by {MANAGED_BY_VALUE}."
        ))
        .set_tags(Some(all_tags))
        .send()
        .await
        .map_err(aws_error("create", name));
    let arn = match created {
        Ok(out) => out.role().map(|r| r.arn().to_owned()).ok_or_else(|| {
            IamRoleError::UnexpectedResponse {
                operation: "create",
                role: name.to_owned(),
            }
        })?,
        Err(e) if e.code() == Some("EntityAlreadyExists") => {
            let role = get_role(iam, name).await?.ok_or(e)?;
            if !role.ours {
                return Err(IamRoleError::NotOurs {
                    role: name.to_owned(),
                });
            }
            if let Some(wanted) = tags.get(OWNER)
                && role.owner.as_ref() != Some(wanted)
            {
                return Err(IamRoleError::OwnedByAnother {
                    role: name.to_owned(),
                    owner: role.owner.unwrap_or_else(|| "an unnamed owner".into()),
                });
            }
            tracing::info!(
                role = name,
                "adopting the service role an earlier apply created"
            );
            role.arn
        }
        Err(e) => return Err(e),
    };
    tracing::info!(role = name, arn, "service role ready; attaching policies");
    let until = Instant::now() + IAM_CONSISTENCY_WINDOW;
    for policy in policy_arns {
        retry_iam(until, "NoSuchEntity", || async {
            iam.attach_role_policy()
                .role_name(name)
                .policy_arn(*policy)
                .send()
                .await
                .map(|_| ())
                .map_err(aws_error(format!("attach policy {policy} to"), name))
        })
        .await?;
    }
    Ok(arn)
}

/// Deletes the role `name` that [`ensure_service_role`] created: detaches its managed
/// policies, deletes inline policies, removes it from instance profiles, then deletes
/// it. A role already gone is success; a role without our tag is
/// [`IamRoleError::NotOurs`].
pub async fn delete_service_role(iam: &Client, name: &str) -> Result<()> {
    let Some(role) = get_role(iam, name).await? else {
        return Ok(());
    };
    if !role.ours {
        return Err(IamRoleError::NotOurs {
            role: name.to_owned(),
        });
    }
    let gone = |e: &IamRoleError| e.code() == Some("NoSuchEntity");
    let mut marker = None;
    loop {
        let page = match iam
            .list_attached_role_policies()
            .role_name(name)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(aws_error("list the policies of", name))
        {
            Ok(page) => page,
            Err(e) if gone(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        for policy in page.attached_policies() {
            let Some(arn) = policy.policy_arn() else {
                continue;
            };
            match iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(aws_error(format!("detach policy {arn} from"), name))
            {
                Err(e) if !gone(&e) => return Err(e),
                _ => {}
            }
        }
        match page.marker() {
            Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    // Inline policies and instance profiles are not ours, but a role cannot be deleted
    // while it has them; whoever added them to our role meant it to go with the role.
    let inline = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(aws_error("list the inline policies of", name))?;
    for policy in inline.policy_names() {
        match iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .map_err(aws_error(format!("delete inline policy {policy} of"), name))
        {
            Err(e) if !gone(&e) => return Err(e),
            _ => {}
        }
    }
    let profiles = iam
        .list_instance_profiles_for_role()
        .role_name(name)
        .send()
        .await
        .map_err(aws_error("list the instance profiles of", name))?;
    for profile in profiles.instance_profiles() {
        let profile = profile.instance_profile_name();
        match iam
            .remove_role_from_instance_profile()
            .role_name(name)
            .instance_profile_name(profile)
            .send()
            .await
            .map_err(aws_error(
                format!("remove from instance profile {profile}"),
                name,
            )) {
            Err(e) if !gone(&e) => return Err(e),
            _ => {}
        }
    }
    // A detach can take a moment to register: DeleteConflict until it does.
    let until = Instant::now() + IAM_CONSISTENCY_WINDOW;
    let deleted = retry_iam(until, "DeleteConflict", || async {
        iam.delete_role()
            .role_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(aws_error("delete", name))
    })
    .await;
    match deleted {
        Err(e) if !gone(&e) => Err(e),
        _ => {
            tracing::info!(role = name, "service role deleted");
            Ok(())
        }
    }
}

/// Whether the role `name` exists (ours or not).
pub async fn service_role_exists(iam: &Client, name: &str) -> Result<bool> {
    Ok(get_role(iam, name).await?.is_some())
}

/// A role as far as this module cares.
struct FoundRole {
    arn: RoleArn,
    ours: bool,
    /// Its [`OWNER`] tag.
    owner: Option<String>,
}

async fn get_role(iam: &Client, name: &str) -> Result<Option<FoundRole>> {
    match iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(aws_error("describe", name))
    {
        Ok(out) => {
            let role = out.role().ok_or_else(|| IamRoleError::UnexpectedResponse {
                operation: "describe",
                role: name.to_owned(),
            })?;
            Ok(Some(FoundRole {
                arn: role.arn().to_owned(),
                ours: role
                    .tags()
                    .iter()
                    .any(|t| t.key() == MANAGED_BY && t.value() == MANAGED_BY_VALUE),
                owner: role
                    .tags()
                    .iter()
                    .find(|t| t.key() == OWNER)
                    .map(|t| t.value().to_owned()),
            }))
        }
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Retries `op` while it fails with `code`, until `until`.
async fn retry_iam<F>(until: Instant, code: &str, mut op: impl FnMut() -> F) -> Result<()>
where
    F: std::future::Future<Output = Result<()>>,
{
    let mut pause = Duration::from_millis(500);
    loop {
        match op().await {
            Err(e) if e.code() == Some(code) && Instant::now() + pause <= until => {
                tracing::info!(error = %e, ?pause, "retrying (iam eventual consistency)");
                tokio::time::sleep(pause).await;
                pause = (pause * 3 / 2).min(Duration::from_secs(5));
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition_of("us-west-2"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(
            managed_policy_arn("aws", "AmazonEKSClusterPolicy"),
            "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
        );
    }

    #[test]
    fn trust_policy_names_the_service() {
        let doc: serde_json::Value =
            serde_json::from_str(&trust_policy("eks.amazonaws.com")).unwrap();
        assert_eq!(
            doc["Statement"][0]["Principal"]["Service"],
            "eks.amazonaws.com"
        );
        assert_eq!(doc["Statement"][0]["Action"], "sts:AssumeRole");
    }

    #[test]
    fn role_propagation_errors_are_recognised() {
        let p = Some("InvalidParameterException");
        assert!(is_role_propagation_error(
            p,
            "Role with arn: arn:aws:iam::123:role/x, could not be assumed because it does not exist or the trusted entity is not correct"
        ));
        assert!(is_role_propagation_error(
            p,
            "The role with name x cannot be found. Role does not exist"
        ));
        // Same code, a real mistake: not retried.
        assert!(!is_role_propagation_error(
            p,
            "Subnets specified must be in at least two different AZs"
        ));
        assert!(!is_role_propagation_error(
            Some("AccessDeniedException"),
            "role could not be assumed"
        ));
    }
}
