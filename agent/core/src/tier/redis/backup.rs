//! Backups: the volume `<name>-backup` (a standalone PersistentVolumeClaim, which the
//! agent never prunes), CronJobs `<name>-backup-hourly` and `<name>-backup-daily`, and
//! with S3 by pod identity the ServiceAccount `<name>-backup`.
//!
//! Each job runs `backup.sh` from `<name>-config`: an RDB snapshot of every primary
//! (`redis-cli --rdb`) into the volume, keeping the newest `keep`. The daily job then
//! copies the snapshots to S3 when `backup.s3` is set, from an aws-cli container. Both
//! schedules share the ReadWriteOnce volume: when they fire together and land on
//! different nodes, the second pod waits for the first to release it.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, PodSpec,
    PodTemplateSpec, ServiceAccount, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::config::{self, BACKUP_DIR, CONFIG_DIR};
use super::server::{cli_auth_env, config_map_name};
use super::{Redis, UID, config_volume};
use crate::object::Object;
use crate::render::build;
use crate::spec::common::{Resources, SecretKeyRef};
use crate::spec::redis::{BackupSchedule, S3Target};

pub fn render(redis: &Redis) -> Vec<Object> {
    let backup = &redis.spec.backup;
    let mut objects: Vec<Object> = vec![volume(redis).into()];
    if let Some(account) = service_account(redis) {
        objects.push(account.into());
    }
    objects.push(cron_job(redis, "hourly", &backup.hourly, None).into());
    objects.push(cron_job(redis, "daily", &backup.daily, backup.s3.as_deref()).into());
    objects
}

pub fn volume_name(redis: &Redis) -> String {
    format!("{}-backup", redis.name)
}

fn volume(redis: &Redis) -> PersistentVolumeClaim {
    let mut claim = build::volume_claim(
        &volume_name(redis),
        &redis.spec.backup_storage_size(),
        redis.spec.backup_storage_class().as_deref(),
    );
    claim.metadata.namespace = Some(redis.namespace.to_owned());
    claim
}

/// The identity the daily upload uses when no credentials Secret is named: IRSA (with
/// `roleArn`) or an EKS Pod Identity association made for this ServiceAccount.
fn service_account(redis: &Redis) -> Option<ServiceAccount> {
    let s3 = redis.spec.backup.s3.as_ref()?;
    if s3.credentials_secret.is_some() {
        return None;
    }
    let mut metadata = build::meta(&volume_name(redis), redis.namespace);
    if let Some(role) = &s3.role_arn {
        metadata.annotations = Some(BTreeMap::from([(
            "eks.amazonaws.com/role-arn".to_owned(),
            role.clone(),
        )]));
    }
    Some(ServiceAccount {
        metadata,
        // The injected web identity or pod identity token is its own volume.
        automount_service_account_token: Some(false),
        ..Default::default()
    })
}

fn cron_job(
    redis: &Redis,
    kind: &str,
    schedule: &BackupSchedule,
    s3: Option<&S3Target>,
) -> CronJob {
    let spec = redis.spec;
    let snapshot = snapshot_container(redis, kind, schedule.keep);
    let (init_containers, containers) = match s3 {
        Some(s3) => (Some(vec![snapshot]), vec![upload_container(redis, s3)]),
        None => (None, vec![snapshot]),
    };
    let service_account = s3
        .filter(|s3| s3.credentials_secret.is_none())
        .map(|_| volume_name(redis));
    let pod = PodSpec {
        init_containers,
        containers,
        restart_policy: Some("Never".to_owned()),
        volumes: Some(vec![
            config_volume(
                "config",
                &config_map_name(redis),
                [&config::BACKUP_SCRIPT.to_owned()],
            ),
            Volume {
                name: "backup".to_owned(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: volume_name(redis),
                    read_only: None,
                }),
                ..Default::default()
            },
            build::empty_dir("tmp", None),
        ]),
        security_context: Some(build::pod_security(UID)),
        node_selector: build::node_selector(&spec.placement),
        tolerations: build::tolerations(&spec.placement),
        service_account_name: service_account,
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        ..Default::default()
    };
    CronJob {
        metadata: build::meta(&format!("{}-{kind}", volume_name(redis)), redis.namespace),
        spec: Some(CronJobSpec {
            schedule: schedule.schedule.clone(),
            time_zone: Some("Etc/UTC".to_owned()),
            concurrency_policy: Some("Forbid".to_owned()),
            starting_deadline_seconds: Some(600),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: None,
                spec: Some(JobSpec {
                    backoff_limit: Some(1),
                    // An hourly run must not still be going when the next is due.
                    active_deadline_seconds: Some(if kind == "hourly" { 3_300 } else { 14_400 }),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(redis.backup_labels()),
                            ..Default::default()
                        }),
                        spec: Some(pod),
                    },
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn snapshot_container(redis: &Redis, kind: &str, keep: u32) -> Container {
    Container {
        name: "snapshot".to_owned(),
        image: Some(redis.spec.image()),
        command: Some(vec![
            format!("{CONFIG_DIR}/backup.sh"),
            kind.to_owned(),
            keep.to_string(),
        ]),
        env: Some(vec![cli_auth_env(redis)]),
        resources: Some(build::resources(&Resources::of(
            "100m", "128Mi", "1", "512Mi",
        ))),
        security_context: Some(build::container_security(UID, true)),
        volume_mounts: Some(vec![
            build::mount("config", CONFIG_DIR, true),
            build::mount("backup", BACKUP_DIR, false),
            build::mount("tmp", "/tmp", false),
        ]),
        ..Default::default()
    }
}

/// Copies the daily snapshots to S3 (`aws s3 sync` uploads only what is new there).
fn upload_container(redis: &Redis, s3: &S3Target) -> Container {
    let target = format!(
        "s3://{}/{}/daily/",
        s3.bucket,
        s3.prefix(redis.namespace, redis.name)
    );
    let mut env = vec![
        // aws-cli keeps its caches under $HOME; the root filesystem is read-only.
        build::env("HOME", "/tmp"),
        build::env("AWS_REGION", s3.region.clone()),
    ];
    if let Some(secret) = &s3.credentials_secret {
        env.extend(credentials(secret));
    }
    Container {
        name: "upload".to_owned(),
        image: Some(s3.image()),
        command: Some(
            [
                "aws",
                "s3",
                "sync",
                &format!("{BACKUP_DIR}/daily/"),
                &target,
                "--region",
                &s3.region,
                "--exclude",
                "*.incomplete/*",
                "--only-show-errors",
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        env: Some(env),
        resources: Some(build::resources(&Resources::of(
            "100m", "256Mi", "1", "1Gi",
        ))),
        security_context: Some(build::container_security(UID, true)),
        volume_mounts: Some(vec![
            build::mount("backup", BACKUP_DIR, true),
            build::mount("tmp", "/tmp", false),
        ]),
        ..Default::default()
    }
}

fn credentials(secret: &str) -> Vec<EnvVar> {
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        .into_iter()
        .map(|key| {
            build::env_secret(
                key,
                &SecretKeyRef {
                    name: secret.to_owned(),
                    key: key.to_owned(),
                },
            )
        })
        .collect()
}
