//! Real git repositories for the tests and the benchmark: a bare "remote" repository
//! and a working clone, driven with the git CLI, served over `file://` or over smart
//! HTTP (`git http-backend` behind a small loopback server).
#![allow(dead_code)] // each test binary uses a different part

pub mod http;

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use strata_agent_source::{Credentials, Reference, Source, SourceConfig};
use tempfile::TempDir;

pub use http::GitHttpServer;

/// Runs the git CLI in `dir` with a fixed identity and no user or system config.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, args, None)
}

fn git_at(dir: &Path, args: &[&str], date: Option<i64>) -> String {
    let mut command = Command::new("git");
    command.current_dir(dir).args(args);
    isolate(&mut command);
    if let Some(date) = date {
        let date = format!("@{date} +0000");
        command
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date);
    }
    let output = command.output().expect("running git");
    assert!(
        output.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Environment that makes git independent of the machine's configuration.
pub fn isolate(command: &mut Command) {
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Strata Test")
        .env("GIT_AUTHOR_EMAIL", "test@strata.invalid")
        .env("GIT_COMMITTER_NAME", "Strata Test")
        .env("GIT_COMMITTER_EMAIL", "test@strata.invalid");
}

/// Commit times start here and advance by a minute per commit.
pub const EPOCH: i64 = 1_750_000_000;

/// A bare repository (`<root>/remote.git`) and a working clone pushing to it.
pub struct Upstream {
    dir: TempDir,
    work: PathBuf,
    clock: Cell<i64>,
}

impl Upstream {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        git(
            dir.path(),
            &[
                "-c",
                "init.defaultBranch=main",
                "init",
                "--bare",
                "-q",
                "remote.git",
            ],
        );
        // Lets clients fetch a commit by id over smart HTTP (GitHub and GitLab allow it).
        git(
            &dir.path().join("remote.git"),
            &["config", "uploadpack.allowReachableSHA1InWant", "true"],
        );
        git(
            dir.path(),
            &["-c", "init.defaultBranch=main", "init", "-q", "work"],
        );
        let work = dir.path().join("work");
        git(&work, &["remote", "add", "origin", "../remote.git"]);
        Self {
            dir,
            work,
            clock: Cell::new(EPOCH),
        }
    }

    /// Directory holding `remote.git` (the HTTP server's project root).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn bare(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    pub fn work(&self) -> &Path {
        &self.work
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare().display())
    }

    pub fn write(&self, path: &str, contents: &str) {
        let path = self.work.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    pub fn remove(&self, path: &str) {
        fs::remove_file(self.work.join(path)).unwrap();
    }

    /// Commits everything in the working tree; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        let time = self.clock.get() + 60;
        self.clock.set(time);
        git(&self.work, &["add", "-A"]);
        git_at(
            &self.work,
            &["commit", "-q", "--allow-empty", "-m", message],
            Some(time),
        );
        self.head()
    }

    /// Writes `files` and commits them.
    pub fn commit_files(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, contents) in files {
            self.write(path, contents);
        }
        self.commit(message)
    }

    /// The commit time [`commit`](Self::commit) gave the last commit.
    pub fn last_commit_time(&self) -> i64 {
        self.clock.get()
    }

    pub fn head(&self) -> String {
        git(&self.work, &["rev-parse", "HEAD"])
    }

    pub fn push(&self) {
        git(
            &self.work,
            &["push", "-q", "origin", "HEAD:refs/heads/main"],
        );
    }

    pub fn push_branch(&self, branch: &str) {
        git(
            &self.work,
            &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")],
        );
    }

    pub fn force_push(&self) {
        git(
            &self.work,
            &["push", "-q", "--force", "origin", "HEAD:refs/heads/main"],
        );
    }

    /// Tags HEAD (annotated when `message` is given) and pushes the tag.
    pub fn tag(&self, name: &str, message: Option<&str>) {
        match message {
            Some(message) => git(&self.work, &["tag", "-a", name, "-m", message]),
            None => git(&self.work, &["tag", name]),
        };
        git(
            &self.work,
            &["push", "-q", "origin", &format!("refs/tags/{name}")],
        );
    }

    pub fn reset_hard(&self, rev: &str) {
        git(&self.work, &["reset", "-q", "--hard", rev]);
    }

    /// Makes the remote unreachable by moving it away; returns where it went.
    pub fn take_offline(&self) -> PathBuf {
        let away = self.dir.path().join("moved-away.git");
        fs::rename(self.bare(), &away).unwrap();
        away
    }

    pub fn bring_online(&self, from: &Path) {
        fs::rename(from, self.bare()).unwrap();
    }
}

/// How the source reaches the upstream repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `file://` (libgit2's local transport).
    File,
    /// `http://127.0.0.1:…` served by `git http-backend` (libgit2's smart transport).
    Http,
}

/// An upstream repository, how it is served, and a cache directory.
pub struct Fixture {
    pub upstream: Upstream,
    pub server: Option<GitHttpServer>,
    pub cache: TempDir,
    pub via: Via,
}

impl Fixture {
    pub fn new(via: Via) -> Self {
        let upstream = Upstream::new();
        let server = (via == Via::Http).then(|| GitHttpServer::start(upstream.root(), None));
        Self {
            upstream,
            server,
            cache: tempfile::tempdir().unwrap(),
            via,
        }
    }

    pub fn url(&self) -> String {
        match &self.server {
            Some(server) => server.url("remote.git"),
            None => self.upstream.file_url(),
        }
    }

    pub fn source(&self, reference: &str) -> Source {
        self.source_with(reference, Credentials::None)
    }

    pub fn source_with(&self, reference: &str, credentials: Credentials) -> Source {
        Source::new(SourceConfig {
            url: self.url(),
            reference: reference.parse::<Reference>().unwrap(),
            credentials,
            cache_dir: self.cache.path().to_owned(),
        })
        .unwrap()
    }

    /// The requests the HTTP server answered since the last call.
    pub fn take_requests(&self) -> Vec<http::Request> {
        self.server
            .as_ref()
            .map(GitHttpServer::take_requests)
            .unwrap_or_default()
    }
}

/// `(path, contents)` pairs of files, for comparisons.
pub fn contents(files: &[strata_agent_source::RepoFile]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                String::from_utf8(f.contents.clone()).unwrap(),
            )
        })
        .collect()
}

/// The error and all its causes, joined with ": ".
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}
