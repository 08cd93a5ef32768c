//! Syncing real repositories: a bare repository and a working clone made with the git
//! CLI, reached over `file://` and over smart HTTP. Most scenarios run on both.

mod support;

use std::fs;

use git2::Repository;
use strata_agent_source::{
    CommitId, Credentials, Error, LAST_GOOD_REF, ReadError, Reference, Source, SourceConfig,
};
use support::{Fixture, Via, chain, contents};

/// Runs a scenario over both transports, as `<name>::file` and `<name>::http`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn file() {
                super::$name(super::Via::File)
            }
            #[test]
            fn http() {
                super::$name(super::Via::Http)
            }
        }
    )*};
}

both!(
    first_sync_returns_the_pushed_commit_and_its_files,
    a_new_commit_is_picked_up,
    an_unchanged_ref_is_reported_unchanged,
    a_tag_is_fetched_and_a_branch_fetches_no_tags,
    a_pinned_commit_is_fetched_once,
    a_force_push_is_followed,
    an_unreachable_remote_keeps_the_last_good_revision,
    a_missing_ref_is_an_error_naming_it,
    a_pinned_commit_the_remote_lacks_is_not_transient,
);

fn id(hex: &str) -> CommitId {
    hex.parse().unwrap()
}

fn cache_repo(source: &Source) -> Repository {
    Repository::open_bare(source.cache_path()).unwrap()
}

fn refs(repo: &Repository) -> Vec<String> {
    let mut names: Vec<String> = repo
        .references()
        .unwrap()
        .map(|r| r.unwrap().name().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn first_sync_returns_the_pushed_commit_and_its_files(via: Via) {
    let fx = Fixture::new(via);
    let head = fx.upstream.commit_files(
        &[
            ("workloads/redis.yaml", "kind: RedisCluster\n"),
            ("README.md", "config\n"),
        ],
        "first config\n\nwith a body",
    );
    fx.upstream.push();

    let mut source = fx.source("main");
    assert_eq!(source.last_good(), None);
    let synced = source.sync().unwrap();
    assert!(synced.changed);
    assert_eq!(synced.reference, Reference::Branch("main".into()));
    assert_eq!(synced.revision.id, id(&head));
    assert_eq!(synced.revision.id.to_string(), head);
    assert_eq!(synced.revision.id.short(), head[..7]);
    assert_eq!(synced.revision.summary, "first config");
    assert_eq!(synced.revision.time, fx.upstream.last_commit_time());
    assert_eq!(source.last_good(), Some(synced.revision.clone()));

    let files = source.files(synced.revision.id, None).unwrap();
    assert_eq!(
        contents(&files),
        [
            ("README.md".into(), "config\n".into()),
            ("workloads/redis.yaml".into(), "kind: RedisCluster\n".into()),
        ]
    );
    // The cache is a bare repository named after the URL, inside the cache directory.
    assert!(source.cache_path().starts_with(fx.cache.path()));
    assert!(cache_repo(&source).is_bare());
}

fn a_new_commit_is_picked_up(via: Via) {
    let fx = Fixture::new(via);
    let first = fx.upstream.commit_files(&[("a.yaml", "v1")], "one");
    fx.upstream.push();
    let mut source = fx.source("main");
    assert_eq!(source.sync().unwrap().revision.id, id(&first));

    fx.upstream.write("a.yaml", "v2");
    fx.upstream.write("b.yaml", "new");
    let second = fx.upstream.commit("two");
    fx.upstream.push();
    let synced = source.sync().unwrap();
    assert!(synced.changed);
    assert_eq!(synced.revision.id, id(&second));
    assert_eq!(synced.revision.summary, "two");
    assert_eq!(source.last_good().unwrap().id, id(&second));
    assert_eq!(
        contents(&source.files(synced.revision.id, None).unwrap()),
        [
            ("a.yaml".into(), "v2".into()),
            ("b.yaml".into(), "new".into())
        ]
    );
}

fn an_unchanged_ref_is_reported_unchanged(via: Via) {
    let fx = Fixture::new(via);
    let head = fx.upstream.commit_files(&[("a.yaml", "v1")], "one");
    fx.upstream.push();
    let mut source = fx.source("main");
    let first = source.sync().unwrap();
    assert!(first.changed);
    fx.take_requests();

    let again = source.sync().unwrap();
    assert!(!again.changed);
    assert_eq!(again.revision, first.revision);
    assert_eq!(again.revision.id, id(&head));
    if via == Via::Http {
        // One round trip: the ref advertisement, and no upload-pack request.
        let requests = fx.take_requests();
        let targets: Vec<_> = requests.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(
            targets,
            ["/remote.git/info/refs?service=git-upload-pack"],
            "{requests:?}"
        );
    }

    // A new Source on the same cache (an agent restart) also sees no change.
    drop(source);
    let mut restarted = fx.source("main");
    assert!(!restarted.sync().unwrap().changed);
}

fn a_tag_is_fetched_and_a_branch_fetches_no_tags(via: Via) {
    let fx = Fixture::new(via);
    let tagged = fx
        .upstream
        .commit_files(&[("a.yaml", "released")], "release");
    fx.upstream.tag("v1", None);
    fx.upstream.tag("v1-annotated", Some("annotated release"));
    let head = fx
        .upstream
        .commit_files(&[("a.yaml", "next")], "after release");
    fx.upstream.push();

    // A branch: tags on the remote are not fetched.
    let mut branch = fx.source("main");
    assert_eq!(branch.sync().unwrap().revision.id, id(&head));
    let names = refs(&cache_repo(&branch));
    assert!(
        names.iter().all(|n| !n.starts_with("refs/tags/")),
        "{names:?}"
    );
    drop(branch);

    // A lightweight tag, on a fresh cache.
    let cache = tempfile::tempdir().unwrap();
    let mut source = Source::new(SourceConfig {
        url: fx.url(),
        reference: "refs/tags/v1".parse().unwrap(),
        credentials: Credentials::None,
        cache_dir: cache.path().to_owned(),
    })
    .unwrap();
    let synced = source.sync().unwrap();
    assert_eq!(synced.revision.id, id(&tagged));
    assert_eq!(synced.reference, Reference::Tag("v1".into()));
    assert_eq!(
        contents(&source.files(synced.revision.id, None).unwrap()),
        [("a.yaml".into(), "released".into())]
    );
    let names = refs(&cache_repo(&source));
    assert_eq!(names, [LAST_GOOD_REF, "refs/tags/v1"]);

    // An annotated tag resolves to the commit it tags, not the tag object.
    let mut annotated = fx.source("tag:v1-annotated");
    let synced = annotated.sync().unwrap();
    assert_eq!(synced.revision.id, id(&tagged));
    assert!(!annotated.sync().unwrap().changed);
}

fn a_pinned_commit_is_fetched_once(via: Via) {
    let fx = Fixture::new(via);
    let pinned = fx.upstream.commit_files(&[("a.yaml", "pinned")], "pinned");
    fx.upstream.commit_files(&[("a.yaml", "later")], "later");
    fx.upstream.push();

    let mut source = fx.source(&pinned);
    assert_eq!(*source.reference(), Reference::Commit(id(&pinned)));
    let synced = source.sync().unwrap();
    assert!(synced.changed);
    assert_eq!(synced.revision.id, id(&pinned));
    assert_eq!(
        contents(&source.files(synced.revision.id, None).unwrap()),
        [("a.yaml".into(), "pinned".into())]
    );
    fx.take_requests();

    // Cached now: no network I/O at all, even with the remote gone.
    let away = fx.upstream.take_offline();
    let again = source.sync().unwrap();
    assert!(!again.changed);
    assert_eq!(again.revision.id, id(&pinned));
    assert_eq!(fx.take_requests(), []);
    fx.upstream.bring_online(&away);
}

fn a_force_push_is_followed(via: Via) {
    let fx = Fixture::new(via);
    let base = fx.upstream.commit_files(&[("a.yaml", "base")], "base");
    let bad = fx.upstream.commit_files(&[("a.yaml", "bad")], "bad");
    fx.upstream.push();
    let mut source = fx.source("main");
    assert_eq!(source.sync().unwrap().revision.id, id(&bad));

    // Rewrite history: drop "bad", commit something else on top of "base".
    fx.upstream.reset_hard(&base);
    let rewritten = fx.upstream.commit_files(&[("a.yaml", "fixed")], "fixed");
    fx.upstream.force_push();
    let synced = source.sync().unwrap();
    assert!(synced.changed);
    assert_eq!(synced.revision.id, id(&rewritten));
    assert_eq!(
        contents(&source.files(synced.revision.id, None).unwrap()),
        [("a.yaml".into(), "fixed".into())]
    );

    // Rolling back to a commit the cache already has is followed too.
    fx.upstream.reset_hard(&bad);
    fx.upstream.force_push();
    let synced = source.sync().unwrap();
    assert!(synced.changed);
    assert_eq!(synced.revision.id, id(&bad));
}

fn an_unreachable_remote_keeps_the_last_good_revision(via: Via) {
    let fx = Fixture::new(via);
    let good = fx.upstream.commit_files(&[("apps/a.yaml", "good")], "good");
    fx.upstream.push();
    let mut source = fx.source("main");
    source.sync().unwrap();

    fx.upstream
        .commit_files(&[("apps/a.yaml", "newer")], "newer");
    fx.upstream.push();
    fx.upstream.take_offline();
    let error = source.sync().unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.is_transient(), "{}", chain(&error));
    assert!(error.to_string().contains(&fx.url()), "{error}");

    let last_good = source.last_good().unwrap();
    assert_eq!(last_good.id, id(&good));
    assert_eq!(
        contents(&source.files(last_good.id, Some("apps")).unwrap()),
        [("apps/a.yaml".into(), "good".into())]
    );

    // After a restart, the last good revision and its files are still there.
    drop(source);
    let mut restarted = fx.source("main");
    assert_eq!(restarted.last_good().unwrap().id, id(&good));
    assert!(restarted.sync().unwrap_err().is_transient());
    assert_eq!(
        contents(&restarted.files(id(&good), None).unwrap()),
        [("apps/a.yaml".into(), "good".into())]
    );
}

fn a_missing_ref_is_an_error_naming_it(via: Via) {
    let fx = Fixture::new(via);
    let head = fx.upstream.commit_files(&[("a.yaml", "x")], "x");
    fx.upstream.push();
    let mut source = fx.source("main");
    source.sync().unwrap();

    for missing in ["no-such-branch", "tag:v9"] {
        let mut source = fx.source(missing);
        let error = source.sync().unwrap_err();
        assert!(matches!(error, Error::RefNotFound { .. }), "{error:?}");
        assert!(!error.is_transient());
        let reference: Reference = missing.parse().unwrap();
        assert_eq!(
            error.to_string(),
            format!("{reference} not found at {}", fx.url())
        );
        // The cache's last good revision (from "main") is untouched.
        assert_eq!(source.last_good().unwrap().id, id(&head));
    }
}

fn a_pinned_commit_the_remote_lacks_is_not_transient(via: Via) {
    let fx = Fixture::new(via);
    fx.upstream.commit_files(&[("a.yaml", "x")], "x");
    fx.upstream.push();
    let unknown = "1111111111111111111111111111111111111111";
    let mut source = fx.source(unknown);
    let error = source.sync().unwrap_err();
    assert!(
        matches!(error, Error::CommitNotFound { .. }),
        "{}",
        chain(&error)
    );
    assert!(!error.is_transient());
    assert!(error.to_string().contains(unknown), "{error}");
    assert_eq!(source.last_good(), None);
}

#[test]
fn a_changed_ref_is_listed_once_then_fetched_on_the_same_connection() {
    let fx = Fixture::new(Via::Http);
    fx.upstream.commit_files(&[("a.yaml", "1")], "1");
    fx.upstream.push();
    let mut source = fx.source("main");
    source.sync().unwrap();
    fx.upstream.commit_files(&[("a.yaml", "2")], "2");
    fx.upstream.push();
    fx.take_requests();

    assert!(source.sync().unwrap().changed);
    let requests = fx.take_requests();
    let targets: Vec<_> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert_eq!(
        targets,
        [
            "GET /remote.git/info/refs?service=git-upload-pack",
            // libgit2's shallow negotiation over stateless HTTP: the deepen request,
            // then wants/haves and the pack.
            "POST /remote.git/git-upload-pack",
            "POST /remote.git/git-upload-pack",
        ],
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.connection == requests[0].connection),
        "{requests:?}"
    );
}

#[test]
fn the_cache_is_shallow_and_holds_only_the_fetched_commit() {
    let fx = Fixture::new(Via::Http);
    let mut old = Vec::new();
    for i in 0..5 {
        old.push(
            fx.upstream
                .commit_files(&[(&format!("f{i}.yaml"), "x")], &format!("c{i}")),
        );
    }
    let head = old.pop().unwrap();
    fx.upstream.push();

    let mut source = fx.source("main");
    source.sync().unwrap();
    let repo = cache_repo(&source);
    assert!(repo.is_shallow());
    assert!(
        repo.find_commit(git2::Oid::from_str(&head).unwrap())
            .is_ok()
    );
    for old in &old {
        let oid = git2::Oid::from_str(old).unwrap();
        assert!(!repo.odb().unwrap().exists(oid), "{old} was fetched");
    }
    // Only the tip is a shallow root: git itself can read the cache.
    let shallow = fs::read_to_string(source.cache_path().join("shallow")).unwrap();
    assert_eq!(shallow.trim(), head);
    assert_eq!(
        support::git(
            source.cache_path(),
            &["rev-list", "--count", "refs/remotes/origin/main"]
        ),
        "1"
    );

    // Still shallow, and still one commit, after the next fetch.
    let next = fx.upstream.commit_files(&[("g.yaml", "y")], "next");
    fx.upstream.push();
    assert_eq!(source.sync().unwrap().revision.id, id(&next));
    let repo = cache_repo(&source);
    assert!(repo.is_shallow());
    assert_eq!(
        support::git(
            source.cache_path(),
            &["rev-list", "--count", "refs/remotes/origin/main"]
        ),
        "1"
    );
}

#[test]
fn files_of_a_subdirectory() {
    let fx = Fixture::new(Via::File);
    fx.upstream.commit_files(
        &[
            ("workloads/redis/cluster.yaml", "redis"),
            ("workloads/vector.yaml", "vector"),
            ("workloads/b-first.yaml", "b"),
            ("other/x.yaml", "x"),
            ("top.yaml", "top"),
        ],
        "tree",
    );
    // A symbolic link and an executable file.
    std::os::unix::fs::symlink(
        "vector.yaml",
        fx.upstream.work().join("workloads/link.yaml"),
    )
    .unwrap();
    fx.upstream.write("workloads/run.sh", "#!/bin/sh\n");
    support::git(fx.upstream.work(), &["add", "-A"]);
    support::git(
        fx.upstream.work(),
        &["update-index", "--chmod=+x", "workloads/run.sh"],
    );
    let head = fx.upstream.commit("link and script");
    fx.upstream.push();
    let mut source = fx.source("main");
    let rev = source.sync().unwrap().revision.id;
    assert_eq!(rev, id(&head));

    let expected: Vec<(String, String)> = [
        ("workloads/b-first.yaml", "b"),
        ("workloads/redis/cluster.yaml", "redis"),
        ("workloads/run.sh", "#!/bin/sh\n"),
        ("workloads/vector.yaml", "vector"),
    ]
    .iter()
    .map(|(p, c)| (p.to_string(), c.to_string()))
    .collect();
    for subdir in ["workloads", "workloads/", "./workloads"] {
        assert_eq!(
            contents(&source.files(rev, Some(subdir)).unwrap()),
            expected,
            "{subdir}"
        );
    }
    assert_eq!(source.files(rev, None).unwrap().len(), 6);
    assert_eq!(source.files(rev, Some("")).unwrap().len(), 6);

    let error = source.files(rev, Some("missing/dir")).unwrap_err();
    assert!(
        matches!(error, ReadError::SubdirNotFound { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("directory \"missing/dir\" not found in revision {head}")
    );
    assert!(matches!(
        source.files(rev, Some("top.yaml")),
        Err(ReadError::NotADirectory { .. })
    ));
    assert!(matches!(
        source.files(rev, Some("../etc")),
        Err(ReadError::InvalidSubdir(_))
    ));
    let never_fetched = id("2222222222222222222222222222222222222222");
    assert!(matches!(
        source.files(never_fetched, None),
        Err(ReadError::MissingCommit { .. })
    ));
}

#[test]
fn a_stopped_server_is_transient() {
    let mut fx = Fixture::new(Via::Http);
    let good = fx.upstream.commit_files(&[("a.yaml", "x")], "x");
    fx.upstream.push();
    let mut source = fx.source("main");
    source.sync().unwrap();

    drop(fx.server.take()); // nothing listens on the port any more
    let error = source.sync().unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.is_transient(), "{}", chain(&error));
    assert_eq!(source.last_good().unwrap().id, id(&good));
}

#[test]
fn switching_the_reference_reuses_the_cache() {
    let fx = Fixture::new(Via::File);
    let main = fx.upstream.commit_files(&[("a.yaml", "main")], "main");
    fx.upstream.push();
    let staging = fx
        .upstream
        .commit_files(&[("a.yaml", "staging")], "staging");
    fx.upstream.push_branch("staging");

    let mut source = fx.source("main");
    assert_eq!(source.sync().unwrap().revision.id, id(&main));
    let path = source.cache_path().to_owned();
    drop(source);

    let mut source = fx.source("refs/heads/staging");
    assert_eq!(source.cache_path(), path);
    // Before the first sync of the new ref, the last good revision is main's.
    assert_eq!(source.last_good().unwrap().id, id(&main));
    let synced = source.sync().unwrap();
    assert!(synced.changed);
    assert_eq!(synced.revision.id, id(&staging));
}

#[test]
fn bad_configuration_is_refused_up_front() {
    let cache = tempfile::tempdir().unwrap();
    let config = |url: &str, credentials| SourceConfig {
        url: url.into(),
        reference: "main".parse().unwrap(),
        credentials,
        cache_dir: cache.path().to_owned(),
    };
    let error = Source::new(config("ftp://host/config.git", Credentials::None)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unsupported source url \"ftp://host/config.git\""
    );
    assert!(!error.is_transient());

    let token = Credentials::Token {
        file: "/run/secrets/token".into(),
    };
    let error = Source::new(config("git@github.com:org/config.git", token)).unwrap_err();
    assert!(matches!(error, Error::Credentials { .. }));
    assert_eq!(
        chain(&error),
        "authenticating to git@github.com:org/config.git: \
         token credentials cannot be used with a ssh url"
    );
    assert!(!error.is_transient());
    // Nothing was created for refused configurations.
    assert_eq!(fs::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn a_source_can_move_to_a_blocking_thread() {
    fn send<T: Send + 'static>(_: &T) {}
    let fx = Fixture::new(Via::File);
    let head = fx.upstream.commit_files(&[("a.yaml", "x")], "x");
    fx.upstream.push();
    let mut source = fx.source("main");
    send(&source);
    let synced = std::thread::spawn(move || source.sync().unwrap())
        .join()
        .unwrap();
    assert_eq!(synced.revision.id, id(&head));
}
