//! Sync cost against a peer measured in the same run: the git CLI.
//!
//! Builds a config repository (200 files, 300 commits) with `git fast-import`, serves it
//! over `file://` and over smart HTTP (`git http-backend` on loopback), then measures,
//! alternating ours and the peer's runs so machine load falls on both alike:
//!
//! * **no-change sync** of an up-to-date cache: `Source::sync` vs
//!   `git fetch --depth 1 origin main` in an up-to-date shallow clone;
//! * **cold clone**: a new cache + `Source::sync` vs
//!   `git clone --bare --depth 1 --single-branch --branch main --no-tags`.
//!
//! Prints a markdown table (median, p90, peer/ours ratio) and, for HTTP, the requests
//! each operation makes.
//!
//!   cargo bench -p strata-agent-source --bench fetch [-- --runs 50 --cold-runs 10]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use strata_agent_source::{Credentials, Source, SourceConfig};
use support::{GitHttpServer, Upstream, git};

const FILES: usize = 200;
const COMMITS: usize = 300;

fn main() {
    let mut runs = 50;
    let mut cold_runs = 10;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--cold-runs" => {
                cold_runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--cold-runs N")
            }
            _ => {} // `--bench` from cargo
        }
    }

    let started = Instant::now();
    let upstream = Upstream::new();
    let bytes = build_history(&upstream.bare());
    let server = GitHttpServer::start(upstream.root(), None);
    eprintln!(
        "built {FILES} files × {COMMITS} commits ({} KiB of blobs) in {:?}",
        bytes / 1024,
        started.elapsed()
    );

    println!(
        "strata-agent-source sync vs git {} ({FILES} files, {COMMITS} commits; \
         {runs} no-change runs, {cold_runs} cold runs, after 3 warm-ups)\n",
        git(upstream.root(), &["version"]).trim_start_matches("git version ")
    );
    println!(
        "| transport | measure | ours median | ours p90 | git median | git p90 | git/ours (median) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut notes = Vec::new();
    for (label, url) in [
        ("file://", upstream.file_url()),
        ("http (loopback)", server.url("remote.git")),
    ] {
        let work = tempfile::tempdir().unwrap();
        let http = url.starts_with("http");

        // No-change sync of an up-to-date cache.
        let mut source = new_source(&url, &work.path().join("cache"));
        assert!(source.sync().unwrap().changed);
        let peer = work.path().join("peer");
        run_git(
            work.path(),
            &[
                "clone",
                "-q",
                "--depth",
                "1",
                "--no-tags",
                "--branch",
                "main",
                &url,
                "peer",
            ],
        );
        let (ours, theirs, requests) = alternate(
            runs,
            &server,
            || assert!(!source.sync().unwrap().changed),
            || run_git(&peer, &["fetch", "-q", "--depth", "1", "origin", "main"]),
        );
        row(label, "no-change sync", &ours, &theirs);
        if http {
            notes.push(format!(
                "HTTP requests per no-change sync: ours {}; git {}",
                requests.0, requests.1
            ));
        }

        // Cold clone into an empty cache.
        let (mut n_ours, mut n_peer) = (0, 0);
        let (ours, theirs, requests) = alternate(
            cold_runs,
            &server,
            || {
                n_ours += 1;
                let n = n_ours;
                let mut source = new_source(&url, &work.path().join(format!("cold-{n}")));
                assert!(source.sync().unwrap().changed);
            },
            || {
                n_peer += 1;
                let n = n_peer;
                run_git(
                    work.path(),
                    &[
                        "clone",
                        "-q",
                        "--bare",
                        "--depth",
                        "1",
                        "--single-branch",
                        "--branch",
                        "main",
                        "--no-tags",
                        &url,
                        &format!("peer-cold-{n}"),
                    ],
                )
            },
        );
        row(label, "cold clone", &ours, &theirs);
        if http {
            notes.push(format!(
                "HTTP requests per cold clone: ours {}; git {}",
                requests.0, requests.1
            ));
        }
    }
    println!();
    for note in notes {
        println!("- {note}");
    }
    println!(
        "- file:// is fetched with full history by libgit2's local transport (no shallow \
         support); git's file:// clone is shallow."
    );
    eprintln!("total {:?}", started.elapsed());
}

fn new_source(url: &str, cache_dir: &Path) -> Source {
    Source::new(SourceConfig {
        url: url.to_owned(),
        reference: "main".parse().unwrap(),
        credentials: Credentials::None,
        cache_dir: cache_dir.to_owned(),
    })
    .unwrap()
}

/// Runs `ours` and `theirs` alternately, 3 warm-ups each then `runs` timed runs each.
/// Also returns the HTTP requests per run of each (averaged over the timed runs).
fn alternate(
    runs: usize,
    server: &GitHttpServer,
    mut ours: impl FnMut(),
    mut theirs: impl FnMut(),
) -> (Vec<Duration>, Vec<Duration>, (f64, f64)) {
    for _ in 0..3 {
        ours();
        theirs();
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut ra, mut rb) = (0, 0);
    for _ in 0..runs {
        server.take_requests();
        let t = Instant::now();
        ours();
        a.push(t.elapsed());
        ra += server.take_requests().len();
        let t = Instant::now();
        theirs();
        b.push(t.elapsed());
        rb += server.take_requests().len();
    }
    let per = |n: usize| n as f64 / runs as f64;
    (a, b, (per(ra), per(rb)))
}

fn row(transport: &str, measure: &str, ours: &[Duration], theirs: &[Duration]) {
    let (om, op) = stats(ours);
    let (tm, tp) = stats(theirs);
    println!(
        "| {transport} | {measure} | {} | {} | {} | {} | {:.1}× |",
        ms(om),
        ms(op),
        ms(tm),
        ms(tp),
        tm.as_secs_f64() / om.as_secs_f64()
    );
}

/// (median, p90).
fn stats(samples: &[Duration]) -> (Duration, Duration) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    };
    let p90 = sorted[(n * 9).div_ceil(10).max(1) - 1];
    (median, p90)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn run_git(dir: &Path, args: &[&str]) {
    let mut command = Command::new("git");
    command.current_dir(dir).args(args);
    support::isolate(&mut command);
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Writes `COMMITS` commits on `main` into the bare repository with one
/// `git fast-import`: the first adds `FILES` YAML files, each later one changes a few.
/// Returns the bytes of blob data written.
fn build_history(bare: &Path) -> usize {
    let mut stream = Vec::new();
    let mut bytes = 0;
    let mut file = |stream: &mut Vec<u8>, i: usize, version: usize| {
        let path = format!("workloads/tier-{}/app-{i:03}.yaml", i % 3);
        let mut contents = format!(
            "apiVersion: strata.dev/v1\nkind: RedisCluster\nmetadata:\n  name: app-{i}\n  \
             version: {version}\nspec:\n  shards: {}\n  replicas: 2\n",
            1 + i % 5
        );
        for line in 0..40 {
            contents.push_str(&format!("  # padding line {line} of app {i}\n"));
        }
        bytes += contents.len();
        write!(
            stream,
            "M 644 inline {path}\ndata {}\n{contents}\n",
            contents.len()
        )
        .unwrap();
    };
    for commit in 0..COMMITS {
        let message = format!("commit {commit}");
        write!(
            stream,
            "commit refs/heads/main\nmark :{}\ncommitter Strata Bench <bench@strata.invalid> {} +0000\n\
             data {}\n{message}\n",
            commit + 1,
            1_750_000_000 + commit * 60,
            message.len()
        )
        .unwrap();
        if commit == 0 {
            for i in 0..FILES {
                file(&mut stream, i, 0);
            }
        } else {
            writeln!(stream, "from :{commit}").unwrap();
            for k in 0..3 {
                file(&mut stream, (commit * 7 + k * 13) % FILES, commit);
            }
        }
        stream.push(b'\n');
    }
    let mut command = Command::new("git");
    command
        .current_dir(bare)
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped());
    support::isolate(&mut command);
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success());
    bytes
}
