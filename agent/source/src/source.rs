//! The source: one ref of one remote, fetched shallowly into a cache repository.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::{
    AutotagOption, Direction, ErrorClass, ErrorCode, FetchOptions, ObjectType, Oid, ProxyOptions,
    RemoteCallbacks, Repository, RepositoryInitOptions,
};

use crate::credentials::{Authenticator, Credentials, CredentialsError};
use crate::reference::{CommitId, Reference};
use crate::remote_url::{self, Scheme};
use crate::tree::{self, ReadError, RepoFile};

/// The ref holding the last good revision in the cache repository.
pub const LAST_GOOD_REF: &str = "refs/strata/last-good";

/// How often fetch progress is logged at most.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// What to fetch, from where, and where to keep it.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// The remote: `https://…`, `http://…`, `ssh://…`, scp-like `user@host:path`,
    /// `git://…`, `file://…` or a local path.
    pub url: String,
    /// The branch, tag or commit to fetch.
    pub reference: Reference,
    /// How to authenticate.
    pub credentials: Credentials,
    /// Directory for the cache repositories (one bare repository per URL inside it);
    /// created when missing.
    pub cache_dir: PathBuf,
}

/// A commit of the config repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    /// The commit id.
    pub id: CommitId,
    /// The first line of the commit message.
    pub summary: String,
    /// Commit time, seconds since the Unix epoch.
    pub time: i64,
}

/// The outcome of a successful [`Source::sync`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synced {
    /// The reference that was synced.
    pub reference: Reference,
    /// The revision it points at, now the last good revision.
    pub revision: Revision,
    /// Whether the revision differs from the previous last good revision (always true
    /// on the first sync of a cache).
    pub changed: bool,
}

/// Why a sync failed. The last good revision is unchanged whenever this is returned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL has no supported scheme.
    #[error("unsupported source url {url:?}")]
    InvalidUrl {
        /// The URL (password redacted).
        url: String,
    },
    /// Credentials were missing, unreadable, of the wrong kind or refused.
    #[error("authenticating to {url}")]
    Credentials {
        /// The URL (password redacted).
        url: String,
        /// The cause.
        #[source]
        source: CredentialsError,
    },
    /// The remote refused authentication (libgit2 reported it).
    #[error("authentication to {url} failed")]
    Auth {
        /// The URL (password redacted).
        url: String,
        /// The cause.
        #[source]
        source: git2::Error,
    },
    /// The cache repository could not be created, opened or updated.
    #[error("cache repository {path}")]
    Cache {
        /// The cache repository.
        path: PathBuf,
        /// The cause.
        #[source]
        source: git2::Error,
    },
    /// The remote could not be reached or listed.
    #[error("connecting to {url}")]
    Connect {
        /// The URL (password redacted).
        url: String,
        /// The cause.
        #[source]
        source: git2::Error,
    },
    /// The remote has no such branch or tag.
    #[error("{reference} not found at {url}")]
    RefNotFound {
        /// The reference.
        reference: Reference,
        /// The URL (password redacted).
        url: String,
    },
    /// The remote does not have (or will not give out) the pinned commit.
    #[error("commit {id} not found at {url}")]
    CommitNotFound {
        /// The commit.
        id: CommitId,
        /// The URL (password redacted).
        url: String,
        /// What the remote said, when it said something.
        #[source]
        source: Option<git2::Error>,
    },
    /// The reference does not point at a commit (e.g. a tag of a tree).
    #[error("{reference} at {url} does not point at a commit")]
    NotACommit {
        /// The reference.
        reference: Reference,
        /// The URL (password redacted).
        url: String,
    },
    /// Downloading the objects failed.
    #[error("fetching {reference} from {url}")]
    Fetch {
        /// The reference.
        reference: Reference,
        /// The URL (password redacted).
        url: String,
        /// The cause.
        #[source]
        source: git2::Error,
    },
    /// The fetch finished but the commit is not in the cache.
    #[error("fetching {reference} from {url} did not deliver commit {id}")]
    Incomplete {
        /// The reference.
        reference: Reference,
        /// The commit the remote advertised.
        id: CommitId,
        /// The URL (password redacted).
        url: String,
    },
}

impl Error {
    /// Whether retrying later, without changing the configuration, may succeed:
    /// network failures, an unreachable or missing remote, timeouts and interrupted
    /// downloads. Bad URLs, credential problems, a missing ref or commit and cache
    /// repository failures are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { source, .. } | Error::Fetch { source, .. } => transient(source),
            Error::Incomplete { .. } => true,
            Error::InvalidUrl { .. }
            | Error::Credentials { .. }
            | Error::Auth { .. }
            | Error::Cache { .. }
            | Error::RefNotFound { .. }
            | Error::CommitNotFound { .. }
            | Error::NotACommit { .. } => false,
        }
    }
}

fn transient(error: &git2::Error) -> bool {
    !matches!(
        error.code(),
        ErrorCode::Auth | ErrorCode::Certificate | ErrorCode::InvalidSpec | ErrorCode::Owner
    ) && !matches!(error.class(), ErrorClass::Invalid | ErrorClass::Callback)
}

/// One ref of one remote, kept in a local cache repository.
///
/// The cache is a bare repository under [`SourceConfig::cache_dir`], named after the
/// URL, so it survives restarts. It holds the fetched ref and the last good revision
/// ([`LAST_GOOD_REF`]). Only one `Source` may use a cache repository at a time.
pub struct Source {
    /// As configured (may hold a password); only handed to libgit2.
    raw_url: String,
    /// For messages and logs.
    display_url: String,
    scheme: Scheme,
    reference: Reference,
    credentials: Credentials,
    path: PathBuf,
    repo: Repository,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("url", &self.display_url)
            .field("reference", &self.reference)
            .field("cache", &self.path)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// Checks the configuration and opens (or creates) the cache repository. No
    /// network I/O.
    pub fn new(config: SourceConfig) -> Result<Self, Error> {
        let SourceConfig {
            url,
            reference,
            credentials,
            cache_dir,
        } = config;
        let display_url = remote_url::redact(&url);
        let scheme = Scheme::of(&url).ok_or_else(|| Error::InvalidUrl {
            url: display_url.clone(),
        })?;
        credentials
            .check_scheme(scheme)
            .map_err(|source| Error::Credentials {
                url: display_url.clone(),
                source,
            })?;
        let path = cache_dir.join(remote_url::cache_name(&url));
        let repo = open_or_create(&path).map_err(|source| Error::Cache {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            raw_url: url,
            display_url,
            scheme,
            reference,
            credentials,
            path,
            repo,
        })
    }

    /// The URL, with any password redacted.
    pub fn url(&self) -> &str {
        &self.display_url
    }

    /// The reference this source follows.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The cache repository (bare).
    pub fn cache_path(&self) -> &Path {
        &self.path
    }

    /// The last good revision: the result of the last successful sync, kept across
    /// restarts. `None` before the first successful sync.
    pub fn last_good(&self) -> Option<Revision> {
        let id = self.repo.refname_to_id(LAST_GOOD_REF).ok()?;
        match self.revision(id) {
            Ok(revision) => Some(revision),
            Err(error) => {
                tracing::warn!(%error, "last good revision unreadable; ignoring it");
                None
            }
        }
    }

    /// All regular files of `revision` (under `subdir`, when given), sorted by path.
    /// Symbolic links and submodules are skipped. Works without network access for any
    /// revision in the cache, in particular [`last_good`](Self::last_good).
    pub fn files(
        &self,
        revision: CommitId,
        subdir: Option<&str>,
    ) -> Result<Vec<RepoFile>, ReadError> {
        tree::read_files(&self.repo, revision, subdir)
    }

    /// Brings the cache up to date with the remote ref and records the result as the
    /// last good revision.
    ///
    /// * Branch or tag: connects and lists the remote's refs (one round trip). When the
    ///   advertised commit is the last good revision, returns `changed: false` without
    ///   fetching; otherwise fetches that one ref, depth 1, without tags, over the same
    ///   connection, forced (a force-push is followed).
    /// * Commit: no network I/O when the commit is already cached; otherwise fetches it
    ///   by id (the server must allow it; GitHub, GitLab and `file://` do).
    ///
    /// `file://` and local paths are fetched with full history of the ref: libgit2's
    /// local transport cannot fetch shallowly.
    ///
    /// On error, nothing changes the last good revision.
    pub fn sync(&mut self) -> Result<Synced, Error> {
        let previous = self.repo.refname_to_id(LAST_GOOD_REF).ok();
        let id = match &self.reference {
            Reference::Commit(id) => self.sync_commit(*id)?,
            _ => match self.sync_ref(previous)? {
                Some(id) => id,
                None => {
                    let revision = self
                        .revision(previous.expect("unchanged implies a last good revision"))
                        .map_err(|source| self.cache_error(source))?;
                    tracing::debug!(url = %self.display_url, reference = %self.reference,
                        revision = %revision.id, "unchanged");
                    return Ok(Synced {
                        reference: self.reference.clone(),
                        revision,
                        changed: false,
                    });
                }
            },
        };
        let revision = self
            .revision(id)
            .map_err(|source| self.cache_error(source))?;
        let changed = previous != Some(id);
        if changed {
            self.repo
                .reference(
                    LAST_GOOD_REF,
                    id,
                    true,
                    &format!("strata: {} {}", self.reference, revision.id),
                )
                .map_err(|source| self.cache_error(source))?;
            tracing::debug!(url = %self.display_url, reference = %self.reference,
                revision = %revision.id, "new revision");
        }
        Ok(Synced {
            reference: self.reference.clone(),
            revision,
            changed,
        })
    }

    /// Branch or tag. `Ok(None)` when the remote still advertises `last_good`.
    fn sync_ref(&self, last_good: Option<Oid>) -> Result<Option<Oid>, Error> {
        let remote_ref = self.reference.remote_ref().expect("a branch or tag");
        let local_ref = self.reference.local_ref().expect("a branch or tag");
        let auth = Authenticator::new(&self.credentials);
        let mut remote = self
            .repo
            .remote_anonymous(&self.raw_url)
            .map_err(|source| self.connect_error(&auth, source))?;

        let started = Instant::now();
        let mut connection =
            match remote.connect_auth(Direction::Fetch, Some(callbacks(&auth)), Some(proxy())) {
                Ok(connection) => connection,
                Err(source) => return Err(self.connect_error(&auth, source)),
            };
        let (advertised, peeled) = {
            let heads = connection
                .list()
                .map_err(|source| self.connect_error(&auth, source))?;
            let peeled_name = format!("{remote_ref}^{{}}");
            let find = |name: &str| heads.iter().find(|h| h.name() == name).map(|h| h.oid());
            (find(&remote_ref), find(&peeled_name))
        };
        tracing::debug!(url = %self.display_url, elapsed = ?started.elapsed(), "listed remote refs");
        let Some(advertised) = advertised else {
            return Err(Error::RefNotFound {
                reference: self.reference.clone(),
                url: self.display_url.clone(),
            });
        };
        // An annotated tag is advertised as the tag object plus its peeled commit.
        let target = peeled.unwrap_or(advertised);
        if Some(target) == last_good && self.repo.find_commit(target).is_ok() {
            return Ok(None);
        }

        if self.has_object(advertised) {
            tracing::debug!(revision = %target, "already cached; not downloading");
        } else {
            let mut options = self.fetch_options(&auth);
            let refspec = self.reference.refspec();
            let remote = connection.remote();
            remote
                .download(&[refspec.as_str()], Some(&mut options))
                .map_err(|source| self.fetch_error(&auth, source))?;
            log_stats(remote.stats(), started);
        }
        drop(connection);

        if !self.has_object(advertised) {
            return Err(Error::Incomplete {
                reference: self.reference.clone(),
                id: CommitId::from_oid(target),
                url: self.display_url.clone(),
            });
        }
        let commit = self
            .repo
            .find_object(advertised, None)
            .and_then(|object| object.peel(ObjectType::Commit))
            .map_err(|_| Error::NotACommit {
                reference: self.reference.clone(),
                url: self.display_url.clone(),
            })?;
        self.repo
            .reference(&local_ref, advertised, true, "strata: fetch")
            .map_err(|source| self.cache_error(source))?;
        Ok(Some(commit.id()))
    }

    /// Exact commit: fetched by id unless already cached.
    fn sync_commit(&self, id: CommitId) -> Result<Oid, Error> {
        let oid = id.oid();
        if self.has_object(oid) {
            tracing::debug!(revision = %id, "pinned commit cached; no network I/O");
        } else {
            let auth = Authenticator::new(&self.credentials);
            let started = Instant::now();
            let mut remote = self
                .repo
                .remote_anonymous(&self.raw_url)
                .map_err(|source| self.connect_error(&auth, source))?;
            let mut connection = remote
                .connect_auth(Direction::Fetch, Some(callbacks(&auth)), Some(proxy()))
                .map_err(|source| self.connect_error(&auth, source))?;
            let mut options = self.fetch_options(&auth);
            let refspec = oid.to_string();
            let remote = connection.remote();
            if let Err(source) = remote.download(&[refspec.as_str()], Some(&mut options)) {
                return Err(match self.fetch_error(&auth, source) {
                    Error::Fetch { source, .. } if refused_want(&source) => Error::CommitNotFound {
                        id,
                        url: self.display_url.clone(),
                        source: Some(source),
                    },
                    other => other,
                });
            }
            log_stats(remote.stats(), started);
            drop(connection);
            if !self.has_object(oid) {
                // libgit2's local transport sends nothing for an unknown id.
                return Err(Error::CommitNotFound {
                    id,
                    url: self.display_url.clone(),
                    source: None,
                });
            }
        }
        match self.repo.find_object(oid, None).map(|o| o.kind()) {
            Ok(Some(ObjectType::Commit)) => Ok(oid),
            _ => Err(Error::NotACommit {
                reference: self.reference.clone(),
                url: self.display_url.clone(),
            }),
        }
    }

    /// Depth 1 (except over libgit2's local transport, which cannot fetch shallowly),
    /// no tags, no `FETCH_HEAD`.
    fn fetch_options<'a>(&self, auth: &'a Authenticator<'a>) -> FetchOptions<'a> {
        let mut options = FetchOptions::new();
        options
            .remote_callbacks(callbacks(auth))
            .proxy_options(proxy())
            .download_tags(AutotagOption::None)
            .update_fetchhead(false);
        if self.scheme != Scheme::File {
            options.depth(1);
        }
        options
    }

    fn has_object(&self, oid: Oid) -> bool {
        self.repo.odb().map(|odb| odb.exists(oid)).unwrap_or(false)
    }

    fn revision(&self, oid: Oid) -> Result<Revision, git2::Error> {
        let commit = self.repo.find_commit(oid)?;
        Ok(Revision {
            id: CommitId::from_oid(oid),
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                .into_owned(),
            time: commit.time().seconds(),
        })
    }

    fn cache_error(&self, source: git2::Error) -> Error {
        Error::Cache {
            path: self.path.clone(),
            source,
        }
    }

    /// Maps a failure to connect or list, preferring the credentials problem behind it.
    fn connect_error(&self, auth: &Authenticator<'_>, source: git2::Error) -> Error {
        self.classify(auth, source, |source| Error::Connect {
            url: self.display_url.clone(),
            source,
        })
    }

    fn fetch_error(&self, auth: &Authenticator<'_>, source: git2::Error) -> Error {
        self.classify(auth, source, |source| Error::Fetch {
            reference: self.reference.clone(),
            url: self.display_url.clone(),
            source,
        })
    }

    fn classify(
        &self,
        auth: &Authenticator<'_>,
        source: git2::Error,
        otherwise: impl FnOnce(git2::Error) -> Error,
    ) -> Error {
        if let Some(problem) = auth.take_problem() {
            Error::Credentials {
                url: self.display_url.clone(),
                source: problem,
            }
        } else if source.code() == ErrorCode::Auth {
            Error::Auth {
                url: self.display_url.clone(),
                source,
            }
        } else {
            otherwise(source)
        }
    }
}

/// Whether a fetch by id failed because the remote refused to send the object: it
/// lacks it, hides it, or does not allow fetching by id. Over smart HTTP with depth,
/// libgit2 reports the server's `ERR upload-pack: not our ref` as an unexpected packet.
fn refused_want(error: &git2::Error) -> bool {
    let message = error.message();
    error.code() == ErrorCode::NotFound
        || message.contains("not our ref")
        || message.contains("unexpected packet type")
        || message.contains("cannot fetch a specific object")
}

fn open_or_create(path: &Path) -> Result<Repository, git2::Error> {
    if path.exists() {
        return Repository::open_bare(path);
    }
    tracing::debug!(path = %path.display(), "creating cache repository");
    Repository::init_opts(
        path,
        RepositoryInitOptions::new()
            .bare(true)
            .mkpath(true)
            .no_reinit(true),
    )
}

fn proxy() -> ProxyOptions<'static> {
    let mut proxy = ProxyOptions::new();
    proxy.auto();
    proxy
}

fn callbacks<'a>(auth: &'a Authenticator<'a>) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |_url, username, allowed| auth.credential(username, allowed));
    let last_log = Cell::new(Instant::now());
    callbacks.transfer_progress(move |progress| {
        let done = progress.received_objects() == progress.total_objects()
            && progress.indexed_deltas() == progress.total_deltas();
        if done || last_log.get().elapsed() >= PROGRESS_INTERVAL {
            last_log.set(Instant::now());
            tracing::debug!(
                received_objects = progress.received_objects(),
                total_objects = progress.total_objects(),
                indexed_deltas = progress.indexed_deltas(),
                total_deltas = progress.total_deltas(),
                received_bytes = progress.received_bytes(),
                "fetch progress"
            );
        }
        true
    });
    callbacks.sideband_progress(|message| {
        tracing::trace!(message = %String::from_utf8_lossy(message).trim_end(), "remote");
        true
    });
    callbacks
}

fn log_stats(stats: git2::Progress<'_>, started: Instant) {
    tracing::debug!(
        objects = stats.received_objects(),
        bytes = stats.received_bytes(),
        elapsed = ?started.elapsed(),
        "fetched"
    );
}
