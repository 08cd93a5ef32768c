//! The rollout rules, on typed live objects, after kstatus
//! (sigs.k8s.io/cli-utils/pkg/kstatus) and Argo CD's gitops-engine health checks.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::State;

/// The state of one object, with its CamelCase reason and a message for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub state: State,
    pub reason: &'static str,
    pub message: String,
}

fn verdict(state: State, reason: &'static str, message: impl Into<String>) -> Verdict {
    Verdict {
        state,
        reason,
        message: message.into(),
    }
}

/// The controller has not yet seen the latest spec: whatever status says is old news.
fn stale(metadata: &ObjectMeta, observed: Option<i64>) -> Option<Verdict> {
    let generation = metadata.generation?;
    let observed = observed.unwrap_or(0);
    (observed < generation).then(|| {
        verdict(
            State::Progressing,
            "ObservedGenerationStale",
            format!(
                "generation {generation} not yet observed by the controller (observed {observed})"
            ),
        )
    })
}

pub fn statefulset(sts: &StatefulSet) -> Verdict {
    let status = sts.status.clone().unwrap_or_default();
    if let Some(stale) = stale(&sts.metadata, status.observed_generation) {
        return stale;
    }
    let spec = sts.spec.as_ref();
    let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    if strategy.and_then(|s| s.type_.as_deref()) == Some("OnDelete") {
        return verdict(
            State::Ready,
            "OnDelete",
            "updateStrategy OnDelete: pods take the new spec when they are deleted",
        );
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let partition = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    if partition > 0 {
        let wanted = (replicas - partition).max(0);
        return if updated >= wanted {
            verdict(
                State::Ready,
                "PartitionRolloutComplete",
                format!("{updated} of {wanted} replicas above partition {partition} updated"),
            )
        } else {
            verdict(
                State::Progressing,
                "PartitionRollout",
                format!("{updated} of {wanted} replicas above partition {partition} updated"),
            )
        };
    }
    let ready = status.ready_replicas.unwrap_or(0);
    if ready < replicas {
        return verdict(
            State::Progressing,
            "ReplicasNotReady",
            format!("{ready} of {replicas} replicas ready"),
        );
    }
    if let (Some(current), Some(update)) = (&status.current_revision, &status.update_revision)
        && current != update
    {
        return verdict(
            State::Progressing,
            "RevisionMismatch",
            format!("rollout in progress: {updated} of {replicas} replicas at revision {update}"),
        );
    }
    verdict(
        State::Ready,
        "RolloutComplete",
        format!("{ready} of {replicas} replicas ready"),
    )
}

pub fn deployment(deployment: &Deployment) -> Verdict {
    let status = deployment.status.clone().unwrap_or_default();
    if let Some(stale) = stale(&deployment.metadata, status.observed_generation) {
        return stale;
    }
    let deadline_exceeded = status.conditions.iter().flatten().find(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if let Some(condition) = deadline_exceeded {
        let message = condition
            .message
            .clone()
            .unwrap_or_else(|| "progress deadline exceeded".to_owned());
        return verdict(State::Failed, "ProgressDeadlineExceeded", message);
    }
    let replicas = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < replicas {
        return verdict(
            State::Progressing,
            "RolloutInProgress",
            format!("{updated} of {replicas} replicas updated"),
        );
    }
    if total > updated {
        return verdict(
            State::Progressing,
            "OldReplicasPending",
            format!("{} old replicas pending termination", total - updated),
        );
    }
    if available < updated {
        return verdict(
            State::Progressing,
            "ReplicasNotAvailable",
            format!("{available} of {updated} updated replicas available"),
        );
    }
    verdict(
        State::Ready,
        "RolloutComplete",
        format!("{available} of {replicas} replicas available"),
    )
}

/// Container waits that will not resolve by themselves.
const STUCK: [&str; 5] = [
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

/// The first container of `pod` stuck in a wait that needs a person.
pub fn stuck_pod(pod: &Pod) -> Option<Verdict> {
    let status = pod.status.as_ref()?;
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for container in containers {
        let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
            continue;
        };
        let Some(reason) = waiting
            .reason
            .as_deref()
            .and_then(|r| STUCK.iter().find(|s| **s == r))
        else {
            continue;
        };
        let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
        let mut message = format!("pod {pod_name} container {}: {reason}", container.name);
        if let Some(detail) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
            message.push_str(": ");
            message.push_str(detail);
        }
        return Some(verdict(State::Failed, reason, message));
    }
    None
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::{
        DeploymentCondition, DeploymentSpec, DeploymentStatus, RollingUpdateStatefulSetStrategy,
        StatefulSetSpec, StatefulSetStatus, StatefulSetUpdateStrategy,
    };
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateWaiting, ContainerStatus, PodStatus,
    };

    use super::*;

    #[derive(Default, Clone)]
    struct Sts {
        generation: i64,
        observed: i64,
        replicas: i32,
        ready: i32,
        updated: i32,
        current: &'static str,
        update: &'static str,
        strategy: &'static str,
        partition: Option<i32>,
    }

    fn sts(s: Sts) -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta {
                generation: Some(s.generation),
                ..Default::default()
            },
            spec: Some(StatefulSetSpec {
                replicas: Some(s.replicas),
                update_strategy: Some(StatefulSetUpdateStrategy {
                    type_: Some(s.strategy.to_owned()),
                    rolling_update: s.partition.map(|p| RollingUpdateStatefulSetStrategy {
                        partition: Some(p),
                        ..Default::default()
                    }),
                }),
                ..Default::default()
            }),
            status: Some(StatefulSetStatus {
                observed_generation: Some(s.observed),
                replicas: s.replicas,
                ready_replicas: Some(s.ready),
                updated_replicas: Some(s.updated),
                current_revision: Some(s.current.to_owned()),
                update_revision: Some(s.update.to_owned()),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn statefulset_rules() {
        let done = Sts {
            generation: 2,
            observed: 2,
            replicas: 3,
            ready: 3,
            updated: 3,
            current: "r2",
            update: "r2",
            strategy: "RollingUpdate",
            partition: None,
        };
        let cases: Vec<(&str, Sts, State, &str, &str)> = vec![
            (
                "complete",
                done.clone(),
                State::Ready,
                "RolloutComplete",
                "3 of 3 replicas ready",
            ),
            (
                "stale generation",
                Sts {
                    observed: 1,
                    ..done.clone()
                },
                State::Progressing,
                "ObservedGenerationStale",
                "generation 2 not yet observed by the controller (observed 1)",
            ),
            (
                "not ready",
                Sts {
                    ready: 2,
                    ..done.clone()
                },
                State::Progressing,
                "ReplicasNotReady",
                "2 of 3 replicas ready",
            ),
            (
                "revision mismatch",
                Sts {
                    current: "r1",
                    updated: 1,
                    ..done.clone()
                },
                State::Progressing,
                "RevisionMismatch",
                "rollout in progress: 1 of 3 replicas at revision r2",
            ),
            (
                "on delete",
                Sts {
                    strategy: "OnDelete",
                    current: "r1",
                    ready: 0,
                    ..done.clone()
                },
                State::Ready,
                "OnDelete",
                "updateStrategy OnDelete: pods take the new spec when they are deleted",
            ),
            (
                "on delete not observed",
                Sts {
                    strategy: "OnDelete",
                    observed: 1,
                    ..done.clone()
                },
                State::Progressing,
                "ObservedGenerationStale",
                "generation 2 not yet observed by the controller (observed 1)",
            ),
            (
                "partition pending",
                Sts {
                    partition: Some(1),
                    updated: 1,
                    current: "r1",
                    ..done.clone()
                },
                State::Progressing,
                "PartitionRollout",
                "1 of 2 replicas above partition 1 updated",
            ),
            (
                "partition done",
                Sts {
                    partition: Some(1),
                    updated: 2,
                    current: "r1",
                    ..done.clone()
                },
                State::Ready,
                "PartitionRolloutComplete",
                "2 of 2 replicas above partition 1 updated",
            ),
        ];
        for (name, input, state, reason, message) in cases {
            let got = statefulset(&sts(input));
            assert_eq!(
                (got.state, got.reason, got.message.as_str()),
                (state, reason, message),
                "{name}"
            );
        }
    }

    #[test]
    fn statefulset_without_status_is_stale() {
        let mut s = sts(Sts::default());
        s.metadata.generation = Some(1);
        s.status = None;
        assert_eq!(statefulset(&s).reason, "ObservedGenerationStale");
    }

    #[derive(Clone)]
    struct Dep {
        generation: i64,
        observed: i64,
        replicas: i32,
        total: i32,
        updated: i32,
        available: i32,
        progressing_reason: &'static str,
    }

    fn dep(d: Dep) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                generation: Some(d.generation),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(d.replicas),
                ..Default::default()
            }),
            status: Some(DeploymentStatus {
                observed_generation: Some(d.observed),
                replicas: Some(d.total),
                updated_replicas: Some(d.updated),
                available_replicas: Some(d.available),
                conditions: Some(vec![DeploymentCondition {
                    type_: "Progressing".into(),
                    status: "True".into(),
                    reason: Some(d.progressing_reason.into()),
                    message: Some(format!("because {}", d.progressing_reason)),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn deployment_rules() {
        let done = Dep {
            generation: 4,
            observed: 4,
            replicas: 2,
            total: 2,
            updated: 2,
            available: 2,
            progressing_reason: "NewReplicaSetAvailable",
        };
        let cases: Vec<(&str, Dep, State, &str)> = vec![
            ("complete", done.clone(), State::Ready, "RolloutComplete"),
            (
                "stale",
                Dep {
                    observed: 3,
                    ..done.clone()
                },
                State::Progressing,
                "ObservedGenerationStale",
            ),
            (
                "deadline",
                Dep {
                    progressing_reason: "ProgressDeadlineExceeded",
                    updated: 1,
                    ..done.clone()
                },
                State::Failed,
                "ProgressDeadlineExceeded",
            ),
            (
                "updating",
                Dep {
                    updated: 1,
                    ..done.clone()
                },
                State::Progressing,
                "RolloutInProgress",
            ),
            (
                "old pods",
                Dep {
                    total: 3,
                    ..done.clone()
                },
                State::Progressing,
                "OldReplicasPending",
            ),
            (
                "unavailable",
                Dep {
                    available: 1,
                    ..done.clone()
                },
                State::Progressing,
                "ReplicasNotAvailable",
            ),
        ];
        for (name, input, state, reason) in cases {
            let got = deployment(&dep(input));
            assert_eq!(
                (got.state, got.reason),
                (state, reason),
                "{name}: {}",
                got.message
            );
        }
    }

    #[test]
    fn crash_looping_container_fails_the_pod() {
        let waiting = |reason: &str| Pod {
            metadata: ObjectMeta {
                name: Some("redis-0".into()),
                ..Default::default()
            },
            status: Some(PodStatus {
                container_statuses: Some(vec![ContainerStatus {
                    name: "redis".into(),
                    state: Some(ContainerState {
                        waiting: Some(ContainerStateWaiting {
                            reason: Some(reason.into()),
                            message: Some("back-off 5m0s".into()),
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let got = stuck_pod(&waiting("CrashLoopBackOff")).unwrap();
        assert_eq!(got.state, State::Failed);
        assert_eq!(got.reason, "CrashLoopBackOff");
        assert_eq!(
            got.message,
            "pod redis-0 container redis: CrashLoopBackOff: back-off 5m0s"
        );
        assert_eq!(stuck_pod(&waiting("ContainerCreating")), None);
    }
}
