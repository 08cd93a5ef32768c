//! Token authentication against a smart-HTTP server that requires it (Basic, as GitHub
//! and GitLab do), and keeping secrets out of errors.

mod support;

use std::fs;

use strata_agent_source::{Credentials, CredentialsError, Error, Source, SourceConfig};
use support::{GitHttpServer, Upstream, chain};

const TOKEN: &str = "ghp_s3cr3tT0ken";

struct Server {
    upstream: Upstream,
    server: GitHttpServer,
    head: String,
    dir: tempfile::TempDir,
}

impl Server {
    fn new() -> Self {
        let upstream = Upstream::new();
        let head = upstream.commit_files(&[("a.yaml", "private")], "private config");
        upstream.push();
        let server = GitHttpServer::start(upstream.root(), Some(TOKEN));
        Self {
            upstream,
            server,
            head,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn token_file(&self, contents: &str) -> Credentials {
        let file = self.dir.path().join("token");
        fs::write(&file, contents).unwrap();
        Credentials::Token { file }
    }

    fn source(&self, url: String, credentials: Credentials) -> Source {
        Source::new(SourceConfig {
            url,
            reference: "main".parse().unwrap(),
            credentials,
            cache_dir: self.dir.path().join("cache"),
        })
        .unwrap()
    }
}

#[test]
fn a_token_from_a_file_authenticates_as_x_access_token() {
    let s = Server::new();
    let mut source = s.source(
        s.server.url("remote.git"),
        s.token_file(&format!("{TOKEN}\n")),
    );
    let synced = source.sync().unwrap();
    assert_eq!(synced.revision.id.to_string(), s.head);
    let accepted: Vec<_> = s
        .server
        .requests()
        .into_iter()
        .filter_map(|r| r.user)
        .collect();
    assert!(!accepted.is_empty());
    assert!(
        accepted.iter().all(|u| u == "x-access-token"),
        "{accepted:?}"
    );

    // An unchanged sync: the listing only (libgit2 answers the 401 challenge first).
    s.server.take_requests();
    assert!(!source.sync().unwrap().changed);
    let requests = s.server.take_requests();
    let statuses: Vec<_> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.status))
        .collect();
    assert_eq!(statuses, [("GET", 401), ("GET", 200)], "{requests:?}");
}

#[test]
fn the_user_name_in_the_url_wins() {
    let s = Server::new();
    let mut source = s.source(
        s.server.url_with_user("ci-bot", "remote.git"),
        s.token_file(TOKEN),
    );
    source.sync().unwrap();
    let users: Vec<_> = s
        .server
        .requests()
        .into_iter()
        .filter_map(|r| r.user)
        .collect();
    assert!(!users.is_empty());
    assert!(users.iter().all(|u| u == "ci-bot"), "{users:?}");
}

#[test]
fn a_rotated_token_is_read_at_the_next_sync() {
    let s = Server::new();
    let credentials = s.token_file("expired-token");
    let mut source = s.source(s.server.url("remote.git"), credentials);
    let error = source.sync().unwrap_err();
    assert!(
        matches!(
            error,
            Error::Credentials {
                source: CredentialsError::Rejected { .. },
                ..
            }
        ),
        "{error:?}"
    );
    // The mounted secret is updated; no restart needed.
    s.token_file(TOKEN);
    assert_eq!(source.sync().unwrap().revision.id.to_string(), s.head);
}

#[test]
fn a_rejected_token_is_not_transient_and_never_shown() {
    let s = Server::new();
    let mut source = s.source(s.server.url("remote.git"), s.token_file(TOKEN));
    source.sync().unwrap();
    let good = source.last_good().unwrap();

    s.upstream.commit_files(&[("a.yaml", "newer")], "newer");
    s.upstream.push();
    let wrong = "ghp_wr0ngT0ken";
    let mut source = s.source(s.server.url("remote.git"), s.token_file(wrong));
    s.server.take_requests();
    let error = source.sync().unwrap_err();
    let text = chain(&error);
    assert_eq!(
        text,
        format!(
            "authenticating to {}: the server rejected the token",
            s.server.url("remote.git")
        )
    );
    assert!(!error.is_transient());
    assert!(!text.contains(wrong) && !format!("{error:?}").contains(wrong));
    // The challenge, then the wrong token once; asked again, the source gives up
    // instead of looping.
    let refused: Vec<_> = s
        .server
        .requests()
        .into_iter()
        .filter(|r| r.status == 401)
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(source.last_good(), Some(good));
}

#[test]
fn missing_or_empty_token_files_are_named() {
    let s = Server::new();
    let missing = s.dir.path().join("not-mounted");
    let mut source = s.source(
        s.server.url("remote.git"),
        Credentials::Token {
            file: missing.clone(),
        },
    );
    let error = source.sync().unwrap_err();
    assert!(!error.is_transient());
    let text = chain(&error);
    assert!(
        text.contains(&format!("reading token file {}", missing.display())),
        "{text}"
    );

    let mut source = s.source(s.server.url("remote.git"), s.token_file("  \n"));
    let error = source.sync().unwrap_err();
    assert!(chain(&error).contains("is empty"), "{}", chain(&error));
}

#[test]
fn no_credentials_for_a_private_repository() {
    let s = Server::new();
    let mut source = s.source(s.server.url("remote.git"), Credentials::None);
    let error = source.sync().unwrap_err();
    assert!(!error.is_transient());
    assert!(
        chain(&error).ends_with("the server asked for credentials but none are configured"),
        "{}",
        chain(&error)
    );
}

#[test]
fn a_password_in_the_url_is_redacted() {
    let s = Server::new();
    let url = format!(
        "http://ci-bot:{TOKEN}@{}",
        s.server.url("missing.git").trim_start_matches("http://")
    );
    let mut source = s.source(url, Credentials::None);
    assert!(!source.url().contains(TOKEN), "{}", source.url());
    assert!(source.url().contains("ci-bot:***@"), "{}", source.url());
    let error = source.sync().unwrap_err();
    let text = chain(&error);
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!format!("{error:?}").contains(TOKEN));
    assert!(!format!("{source:?}").contains(TOKEN));
}
