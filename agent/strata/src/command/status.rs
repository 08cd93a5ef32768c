//! `strata-agent status`: asks a running agent for its `/status` and prints it for a
//! person (or as raw JSON for scripts). The exit status tells whether the agent has
//! converged, so it can gate a deploy pipeline.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::body::Bytes;
use http::{StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;

use crate::report::{self, Status as ExitStatus};
use crate::status::{Outcome, Status};

const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// The whole exchange, connecting included: a hung agent must not hang a pipeline.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Show a running agent's status.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 the last pass converged (ready), 1 it did not or no \
                        pass ran yet, 2 the agent cannot be reached."
)]
pub struct Args {
    /// The agent's HTTP address (e.g. through `kubectl port-forward`)
    #[arg(long, value_name = "URL", env = "STRATA_AGENT_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// Print the `/status` document as JSON instead of the report
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let fetched = runtime.block_on(fetch(&args.url))?;
    if args.json {
        println!("{}", fetched.json.trim_end());
    } else {
        print!("{}", render_report(&fetched.status, Timestamp::now()));
    }
    Ok(exit_status(&fetched.status))
}

/// `/status` as served, and parsed.
#[derive(Debug)]
pub struct Fetched {
    pub json: String,
    pub status: Status,
}

/// GETs `<url>/status`. Every failure is an error naming the URL (exit status 2).
pub async fn fetch(url: &str) -> anyhow::Result<Fetched> {
    let endpoint = status_uri(url)?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let exchange = async {
        let response = client.get(endpoint.clone()).await?;
        let code = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((code, body))
    };
    let (code, body) = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {}s", TIMEOUT.as_secs()))
        .and_then(|result| result)
        .with_context(|| format!("cannot reach the agent at {url}"))?;
    let json = String::from_utf8_lossy(&body).into_owned();
    if code != StatusCode::OK {
        bail!(
            "{endpoint} answered {code}: {}",
            clean(json.lines().next().unwrap_or_default())
        );
    }
    let status = serde_json::from_str(&json)
        .with_context(|| format!("{endpoint} did not answer a strata-agent status document"))?;
    Ok(Fetched { json, status })
}

/// `<url>/status`; only plain http, which the agent serves (reach it through
/// `kubectl port-forward` or from inside the cluster).
fn status_uri(url: &str) -> anyhow::Result<Uri> {
    let endpoint = format!("{}/status", url.trim_end_matches('/'));
    let uri: Uri = endpoint
        .parse()
        .with_context(|| format!("--url {url} is not a URL"))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        bail!("--url {url}: expected http://HOST[:PORT], e.g. {DEFAULT_URL}");
    }
    Ok(uri)
}

/// 0 when the last pass converged; 1 when it did not, or none ran yet. `report` has no
/// dedicated variant for "not converged": `Invalid` is its exit status 1.
pub fn exit_status(status: &Status) -> ExitStatus {
    match status.last_pass.as_ref().map(|pass| pass.outcome) {
        Some(Outcome::Ready) => ExitStatus::Ok,
        _ => ExitStatus::Invalid,
    }
}

/// The report: a header block, the last pass's steps, the workloads and the last error.
pub fn render_report(status: &Status, now: Timestamp) -> String {
    let mut out = String::new();
    let header = header_block(status, now);
    let key_width = header.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    for (key, value) in &header {
        let _ = writeln!(out, "{key:<key_width$}  {value}");
    }
    for object in &status.drift.objects {
        let _ = writeln!(out, "{:key_width$}  - {}", "", clean(object));
    }

    if let Some(pass) = status.last_pass.as_ref().filter(|p| !p.steps.is_empty()) {
        out.push_str("\nsteps of the last pass:\n");
        let mut rows = vec![row(["STEP", "OUTCOME", "DURATION", "MESSAGE"])];
        rows.extend(pass.steps.iter().map(|step| {
            row([
                &step.name,
                step.outcome.as_str(),
                &millis(step.duration_ms),
                &step.message,
            ])
        }));
        out.push_str(&table(&rows));
    }

    if status.workloads.is_empty() {
        out.push_str("\nworkloads: none\n");
    } else {
        out.push_str("\nworkloads:\n");
        let mut rows = vec![row([
            "NAMESPACE",
            "NAME",
            "TIER",
            "READY",
            "REASON",
            "SINCE",
            "MESSAGE",
        ])];
        rows.extend(status.workloads.iter().map(|workload| {
            let ready = workload.ready_condition();
            row([
                &workload.namespace,
                &workload.name,
                &workload.tier,
                ready.map_or("-", |c| c.status.as_str()),
                ready.map_or("-", |c| c.reason.as_str()),
                &ready.map_or("-".to_owned(), |c| age(c.last_transition_time, now)),
                ready.map_or("", |c| c.message.as_str()),
            ])
        }));
        out.push_str(&table(&rows));
    }

    if let Some(error) = &status.last_error {
        let _ = writeln!(
            out,
            "\nlast error ({}, in step {}, {} ago):\n  {}",
            error.class,
            clean(&error.step),
            age(error.at, now),
            clean(&error.message)
        );
        for detail in &error.details {
            let _ = writeln!(out, "  - {}", clean(detail));
        }
    }
    out
}

fn header_block(status: &Status, now: Timestamp) -> Vec<(&'static str, String)> {
    let mut source = clean(&status.source.repo);
    if !status.source.reference.is_empty() {
        let _ = write!(source, "@{}", clean(&status.source.reference));
    }
    if let Some(path) = &status.source.path {
        let _ = write!(source, "/{}", clean(path));
    }
    let revision = |stamp: &Option<crate::status::RevisionStamp>| match stamp {
        Some(stamp) => format!("{}  {} ago", short(&stamp.revision), age(stamp.at, now)),
        None => "none yet".to_owned(),
    };
    let drift = &status.drift;
    vec![
        (
            "cluster",
            status
                .cluster
                .as_deref()
                .map_or("(the repo's only cluster)".into(), clean),
        ),
        ("source", source),
        ("leader", leader(status)),
        ("fetched", revision(&status.last_fetched)),
        ("applied", revision(&status.last_applied)),
        ("last pass", last_pass(status, now)),
        (
            "drift",
            format!(
                "{} restored in the last pass ({} since start)",
                report::count(drift.count, "object"),
                drift.total
            ),
        ),
        ("inventory", report::count(status.inventory, "object")),
    ]
}

fn leader(status: &Status) -> String {
    let leader = &status.leader;
    let me = clean(&leader.identity);
    if leader.is_leader {
        format!("{me} (this replica holds the lease)")
    } else {
        match &leader.holder {
            Some(holder) => format!("{} holds the lease (this replica: {me})", clean(holder)),
            None => format!("no replica holds the lease (this replica: {me})"),
        }
    }
}

/// `stalled after 3.3s at 4f2a9c1e7b3d, trigger webhook, 2m ago`.
fn last_pass(status: &Status, now: Timestamp) -> String {
    let Some(pass) = &status.last_pass else {
        return "none yet".to_owned();
    };
    let mut line = format!("{} after {}", pass.outcome, millis(pass.duration_ms));
    if let Some(revision) = &pass.revision {
        let _ = write!(line, " at {}", short(revision));
    }
    let ended = pass
        .started
        .checked_add(jiff::SignedDuration::from_millis(
            i64::try_from(pass.duration_ms).unwrap_or(i64::MAX),
        ))
        .unwrap_or(pass.started);
    let _ = write!(
        line,
        ", trigger {}, {} ago",
        clean(&pass.trigger),
        age(ended, now)
    );
    line
}

/// The first 12 characters of a commit id, as `git log --oneline` would show.
fn short(revision: &str) -> String {
    clean(&revision.chars().take(12).collect::<String>())
}

/// `45s`, `2m`, `3h`, `4d`: the largest whole unit, as `kubectl get` shows ages.
fn age(at: Timestamp, now: Timestamp) -> String {
    // A clock skewed ahead of ours would give a negative age: show 0s.
    let seconds = now.duration_since(at).as_secs().max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{}m", seconds / 60),
        3_600..86_400 => format!("{}h", seconds / 3_600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// `410ms`, `3.3s`, `2m05s`.
fn millis(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
    }
}

/// The text as one line without control characters: what the agent serves comes from
/// the cluster and the repo, and must neither break the table nor drive the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|cell| clean(cell)).collect()
}

/// Rows as aligned columns, two spaces apart, indented by two; the last column is not
/// padded, so long messages do not drag trailing blanks.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|row| row.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            line.push(' ');
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count() + 1;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::AgentState;
    use crate::serve::testing::{Server, now, sample_status};
    use crate::status::{Pass, StepStatus};

    #[test]
    fn report_of_a_stalled_leader() {
        let report = render_report(&sample_status(), now());
        let expected = "\
cluster    prod-eu
source     https://github.com/acme/platform-config.git@main/clusters/prod
leader     strata-agent-0 (this replica holds the lease)
fetched    4f2a9c1e7b3d  2m ago
applied    9b8a7c6d5e4f  3h ago
last pass  stalled after 3.2s at 4f2a9c1e7b3d, trigger webhook, 2m ago
drift      1 object restored in the last pass (4 since start)
inventory  57 objects
           - StatefulSet data/redis: spec.replicas

steps of the last pass:
  STEP    OUTCOME  DURATION  MESSAGE
  fetch   ready    410ms     fetched 4f2a9c1e7b3d
  render  stalled  2.8s      1 error in tiers/redis.yaml

workloads:
  NAMESPACE  NAME      TIER           READY    REASON                    SINCE  MESSAGE
  vector     weaviate  VectorStore    True     RolloutComplete           1d     3 of 3 replicas ready
  data       redis     RedisCluster   Unknown  RolloutInProgress         5m     StatefulSet data/redis: 2 of 6 replicas ready
  stream     events    StreamCluster  False    ProgressDeadlineExceeded  1h     Deployment stream/events-connect: progress deadline exceeded

last error (stalled, in step render, 2m ago):
  the config repo has errors
  - tiers/redis.yaml#2 spec.masters: must be at least 3
";
        assert_eq!(report, expected, "\n{report}");
    }

    #[test]
    fn report_before_the_first_pass() {
        let mut status = Status::default();
        status.leader.identity = "strata-agent-1".into();
        status.leader.holder = Some("strata-agent-0".into());
        status.source.repo = "git@github.com:acme/config.git".into();
        status.source.reference = "v1.2.0".into();
        let report = render_report(&status, now());
        for line in [
            "cluster    (the repo's only cluster)",
            "source     git@github.com:acme/config.git@v1.2.0",
            "leader     strata-agent-0 holds the lease (this replica: strata-agent-1)",
            "fetched    none yet",
            "last pass  none yet",
            "drift      0 objects restored in the last pass (0 since start)",
            "workloads: none",
        ] {
            assert!(report.lines().any(|l| l == line), "{line:?} in\n{report}");
        }
        assert!(!report.contains("steps of the last pass"));
        assert!(!report.contains("last error"));
        assert_eq!(exit_status(&status), ExitStatus::Invalid);
    }

    #[test]
    fn served_text_cannot_break_the_layout() {
        let mut status = sample_status();
        status.workloads[0].conditions[0].message = "two\nlines \u{1b}[31mred".into();
        let report = render_report(&status, now());
        assert!(!report.contains('\u{1b}'));
        assert!(report.contains("two lines  [31mred"), "{report}");
    }

    #[test]
    fn exit_status_follows_the_last_pass() {
        let mut status = sample_status();
        assert_eq!(exit_status(&status), ExitStatus::Invalid);
        for (outcome, expected) in [
            (Outcome::Ready, ExitStatus::Ok),
            (Outcome::Waiting, ExitStatus::Invalid),
            (Outcome::Transient, ExitStatus::Invalid),
        ] {
            status.last_pass.as_mut().unwrap().outcome = outcome;
            assert_eq!(exit_status(&status), expected, "{outcome}");
        }
    }

    #[test]
    fn formats() {
        let at = now();
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3_599, "59m"),
            (3_600, "1h"),
            (172_800, "2d"),
        ];
        for (seconds, expected) in cases {
            let earlier = at - jiff::SignedDuration::from_secs(seconds);
            assert_eq!(age(earlier, at), expected);
        }
        assert_eq!(age(at + jiff::SignedDuration::from_secs(5), at), "0s");
        assert_eq!(millis(999), "999ms");
        assert_eq!(millis(1_049), "1.0s");
        assert_eq!(millis(125_000), "2m05s");
        assert_eq!(short("abc"), "abc");
    }

    #[test]
    fn only_http_urls() {
        assert_eq!(
            status_uri("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080/status"
        );
        assert_eq!(
            status_uri("http://agent.strata:80/api").unwrap(),
            "http://agent.strata:80/api/status"
        );
        for url in ["https://agent:8443", "127.0.0.1:8080", "not a url"] {
            assert!(status_uri(url).is_err(), "{url}");
        }
    }

    #[tokio::test]
    async fn fetches_from_a_running_agent() {
        let state = AgentState::new(sample_status(), None, Duration::from_secs(60));
        let server = Server::start(state.clone()).await;

        let fetched = fetch(&server.base).await.unwrap();
        assert_eq!(fetched.status, sample_status());
        assert_eq!(
            serde_json::from_str::<Status>(&fetched.json).unwrap(),
            sample_status()
        );
        assert_eq!(exit_status(&fetched.status), ExitStatus::Invalid);
        let report = render_report(&fetched.status, now());
        assert!(report.contains("last pass  stalled after 3.2s"), "{report}");

        let mut status = sample_status();
        status.last_pass = Some(Pass {
            outcome: Outcome::Ready,
            steps: vec![StepStatus {
                name: "apply".into(),
                outcome: Outcome::Ready,
                message: "applied 3, unchanged 54".into(),
                duration_ms: 700,
            }],
            ..status.last_pass.unwrap()
        });
        status.last_error = None;
        state.publish(status);
        let fetched = fetch(&format!("{}/", server.base)).await.unwrap();
        assert_eq!(exit_status(&fetched.status), ExitStatus::Ok);
    }

    #[tokio::test]
    async fn other_servers_are_errors() {
        let state = AgentState::new(sample_status(), None, Duration::from_secs(60));
        let server = Server::start(state).await;
        let error = fetch(&format!("{}/nope", server.base)).await.unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("/nope/status answered 404"), "{message}");
    }
}
