//! Where the config repo comes from: the files of a directory as they are on disk, or
//! one ref of a git repository fetched through `strata-agent-source`.
//!
//! * A directory (without `--ref`): every `.yaml`/`.yml` file under it, hidden
//!   directories (`.git`, …) and symbolic links skipped, paths relative to it. The
//!   revision is HEAD's commit id when the files are exactly those of HEAD (a clean
//!   checkout), otherwise `worktree`.
//! * A git URL, or `--ref`: the ref (default `main`) fetched into the cache; the revision
//!   is the commit id.
//!
//! With `--path SUBDIR` only that directory is read; paths stay relative to the repo
//! root, so messages name the files as they are in the repo.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use strata_agent_core::RepoFile;
use strata_agent_core::load::is_config_path;
use strata_agent_source::{
    Credentials, ParseReferenceError, ReadError, Reference, Source, SourceConfig,
};

/// The revision recorded for a directory whose files are not exactly a commit's.
pub const WORKTREE_REVISION: &str = "worktree";

/// The ref fetched when a git URL is given without `--ref`.
pub const DEFAULT_REF: &str = "main";

/// Where to read the config repo from.
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// The config repo: a directory, or a git URL (https://…, ssh://…, git@host:path,
    /// file://…)
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// Read only this directory of the repo (messages still name files from the repo root)
    #[arg(long, value_name = "SUBDIR")]
    pub path: Option<String>,
    /// Branch, tag or commit id to read through git [default for URLs: main]. With a
    /// directory: read this ref of the directory's git repository instead of the files
    /// on disk
    #[arg(long = "ref", value_name = "REF")]
    pub reference: Option<String>,
    #[command(flatten)]
    pub git: GitArgs,
}

/// How to reach and cache a git source.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Git source")]
pub struct GitArgs {
    /// Cache of fetched repositories [default: $XDG_CACHE_HOME/strata-agent or
    /// ~/.cache/strata-agent]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// File holding a token for https URLs (sent as the password)
    #[arg(long, value_name = "FILE", conflicts_with = "ssh_key_file")]
    pub token_file: Option<PathBuf>,
    /// Private key for ssh URLs
    #[arg(long, value_name = "FILE")]
    pub ssh_key_file: Option<PathBuf>,
    /// File holding the passphrase of --ssh-key-file
    #[arg(long, value_name = "FILE", requires = "ssh_key_file")]
    pub ssh_passphrase_file: Option<PathBuf>,
}

impl GitArgs {
    fn any(&self) -> bool {
        self.cache_dir.is_some() || self.token_file.is_some() || self.ssh_key_file.is_some()
    }

    fn credentials(&self) -> Credentials {
        match (&self.token_file, &self.ssh_key_file) {
            (Some(file), _) => Credentials::Token { file: file.clone() },
            (None, Some(file)) => Credentials::SshKey {
                file: file.clone(),
                passphrase_file: self.ssh_passphrase_file.clone(),
            },
            (None, None) => Credentials::None,
        }
    }

    fn cache_dir(&self) -> Result<PathBuf, InputError> {
        if let Some(dir) = &self.cache_dir {
            return Ok(dir.clone());
        }
        let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(cache) = from_env("XDG_CACHE_HOME") {
            return Ok(PathBuf::from(cache).join("strata-agent"));
        }
        match from_env("HOME") {
            Some(home) => Ok(PathBuf::from(home).join(".cache").join("strata-agent")),
            None => Err(InputError::NoCacheDir),
        }
    }
}

/// The files of one revision of the config repo.
#[derive(Debug)]
pub struct Loaded {
    pub files: Vec<RepoFile>,
    /// Recorded on every rendered object (`strata.dev/revision`).
    pub revision: String,
}

/// Why the config repo could not be read. Never holds a credential: URLs are the
/// source crate's redacted ones.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(
        "{0}: no such directory, and not a git URL (https://…, ssh://…, git@host:path, file://…)"
    )]
    NotFound(String),
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    #[error("--path {0:?} must be a relative directory without `..`")]
    InvalidSubdir(String),
    #[error("--path {subdir:?}: no such directory in {root}")]
    SubdirNotFound { subdir: String, root: PathBuf },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}: the path is not UTF-8, which a git URL must be")]
    NonUtf8(PathBuf),
    #[error("--ref")]
    Reference(#[from] ParseReferenceError),
    #[error("no cache directory for git sources: pass --cache-dir, or set XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    #[error(transparent)]
    Git(#[from] strata_agent_source::Error),
    #[error("reading the files of {revision}")]
    Tree {
        revision: String,
        #[source]
        source: ReadError,
    },
}

/// Reads the config repo the arguments name, once.
pub fn load(args: &SourceArgs) -> Result<Loaded, InputError> {
    ConfigSource::open(args)?.load()
}

/// A config repo to read again and again (the agent's loop): the git cache stays open
/// between reads, so an unchanged remote costs one round trip.
pub enum ConfigSource {
    Directory { root: PathBuf, subdir: String },
    Git { source: Box<Source>, subdir: String },
}

impl ConfigSource {
    /// Checks the arguments and opens the git cache; no network I/O.
    pub fn open(args: &SourceArgs) -> Result<Self, InputError> {
        let subdir = normalise(args.path.as_deref().unwrap_or_default())?;
        let path = Path::new(&args.source);
        if path.is_dir() {
            if args.reference.is_some() {
                let absolute = path.canonicalize().map_err(|source| InputError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let url = absolute
                    .to_str()
                    .ok_or_else(|| InputError::NonUtf8(absolute.clone()))?
                    .to_owned();
                return open_git(url, args, subdir);
            }
            if args.git.any() {
                tracing::warn!(
                    "--cache-dir, --token-file and --ssh-key-file are ignored for a directory; \
                     pass --ref to read the directory's git repository"
                );
            }
            if !subdir.is_empty() && !path.join(&subdir).is_dir() {
                return Err(InputError::SubdirNotFound {
                    subdir,
                    root: path.to_owned(),
                });
            }
            return Ok(ConfigSource::Directory {
                root: path.to_owned(),
                subdir,
            });
        }
        if path.exists() {
            return Err(InputError::NotADirectory(path.to_owned()));
        }
        if is_git_url(&args.source) {
            return open_git(args.source.clone(), args, subdir);
        }
        Err(InputError::NotFound(args.source.clone()))
    }

    /// Reads the files of the current revision (fetching first for git).
    pub fn load(&mut self) -> Result<Loaded, InputError> {
        match self {
            ConfigSource::Directory { root, subdir } => load_directory(root, subdir),
            ConfigSource::Git { source, subdir } => load_git(source, subdir),
        }
    }

    /// Where the files come from, for status: the URL without credentials, or the path.
    pub fn location(&self) -> String {
        match self {
            ConfigSource::Directory { root, .. } => root.display().to_string(),
            ConfigSource::Git { source, .. } => source.url().to_owned(),
        }
    }

    /// The ref followed (`worktree` for a directory).
    pub fn reference(&self) -> String {
        match self {
            ConfigSource::Directory { .. } => WORKTREE_REVISION.to_owned(),
            ConfigSource::Git { source, .. } => source.reference().to_string(),
        }
    }

    /// The subdirectory read, if any.
    pub fn subdir(&self) -> Option<&str> {
        match self {
            ConfigSource::Directory { subdir, .. } | ConfigSource::Git { subdir, .. } => {
                (!subdir.is_empty()).then_some(subdir.as_str())
            }
        }
    }
}

impl InputError {
    /// Whether retrying later may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            InputError::Git(error) => error.is_transient(),
            InputError::Read { .. } => true,
            _ => false,
        }
    }
}

/// `scheme://…`, or scp-like `[user@]host:path` (a colon before any slash).
fn is_git_url(source: &str) -> bool {
    if source.contains("://") {
        return true;
    }
    match (source.find(':'), source.find('/')) {
        (Some(colon), slash) => colon > 0 && slash.is_none_or(|slash| colon < slash),
        (None, _) => false,
    }
}

/// `a/b` from `./a//b/`; empty for the root. Absolute paths and `..` are refused.
fn normalise(subdir: &str) -> Result<String, InputError> {
    strata_agent_source::normalise_subdir(subdir)
        .map_err(|_| InputError::InvalidSubdir(subdir.to_owned()))
}

fn open_git(url: String, args: &SourceArgs, subdir: String) -> Result<ConfigSource, InputError> {
    let reference: Reference = args.reference.as_deref().unwrap_or(DEFAULT_REF).parse()?;
    let cache_dir = args.git.cache_dir()?;
    let source = Source::new(SourceConfig {
        url,
        reference,
        credentials: args.git.credentials(),
        cache_dir,
    })?;
    Ok(ConfigSource::Git {
        source: Box::new(source),
        subdir,
    })
}

fn load_git(source: &mut Source, subdir: &str) -> Result<Loaded, InputError> {
    tracing::debug!(url = source.url(), reference = %source.reference(),
        cache = %source.cache_path().display(), "fetching");
    let synced = source.sync()?;
    let id = synced.revision.id;
    if synced.changed {
        tracing::info!(revision = %id, summary = synced.revision.summary, "fetched");
    }
    let subdir = (!subdir.is_empty()).then_some(subdir);
    let files = source
        .files(id, subdir)
        .map_err(|source| InputError::Tree {
            revision: id.to_string(),
            source,
        })?;
    Ok(Loaded {
        files: files
            .into_iter()
            .map(|f| RepoFile {
                path: f.path,
                contents: f.contents,
            })
            .collect(),
        revision: id.to_string(),
    })
}

fn load_directory(root: &Path, subdir: &str) -> Result<Loaded, InputError> {
    let start = root.join(subdir);
    if !subdir.is_empty() && !start.is_dir() {
        return Err(InputError::SubdirNotFound {
            subdir: subdir.to_owned(),
            root: root.to_owned(),
        });
    }
    let mut files = Vec::new();
    walk(&start, subdir, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let revision = match head_revision(root, subdir, &files) {
        Ok(Some(id)) => id,
        Ok(None) => WORKTREE_REVISION.to_owned(),
        Err(error) => {
            tracing::debug!(%error, "not a clean git checkout");
            WORKTREE_REVISION.to_owned()
        }
    };
    tracing::debug!(files = files.len(), revision, "read directory");
    Ok(Loaded { files, revision })
}

/// Collects the config files under `dir`, whose repo-relative path is `rel`.
fn walk(dir: &Path, rel: &str, out: &mut Vec<RepoFile>) -> Result<(), InputError> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| InputError::Read { path, source }
    };
    let entries = fs::read_dir(dir).map_err(read_error(dir))?;
    for entry in entries {
        let entry = entry.map_err(read_error(dir))?;
        let full = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            tracing::warn!(path = %full.display(), "skipping a file whose name is not UTF-8");
            continue;
        };
        // Hidden files and directories (`.git`, `.github`, …) are never config.
        if name.starts_with('.') {
            continue;
        }
        let path = strata_agent_source::join_path(rel, name);
        let kind = entry.file_type().map_err(read_error(&full))?;
        if kind.is_dir() {
            walk(&full, &path, out)?;
        } else if kind.is_symlink() {
            if is_config_path(&path) {
                tracing::warn!(
                    path,
                    "skipping a symbolic link: the agent skips them in git too"
                );
            }
        } else if kind.is_file() && is_config_path(&path) {
            let contents = fs::read(&full).map_err(read_error(&full))?;
            out.push(RepoFile { path, contents });
        }
    }
    Ok(())
}

/// HEAD's commit id when `root` is in a git work tree and the config files read under
/// `subdir` are exactly HEAD's (same paths, same bytes); `None` otherwise.
fn head_revision(
    root: &Path,
    subdir: &str,
    files: &[RepoFile],
) -> Result<Option<String>, git2::Error> {
    let repo = git2::Repository::discover(root)?;
    let Some(workdir) = repo.workdir() else {
        return Ok(None);
    };
    let (Ok(root), Ok(workdir)) = (root.canonicalize(), workdir.canonicalize()) else {
        return Ok(None);
    };
    let Ok(inside) = root.strip_prefix(&workdir) else {
        return Ok(None);
    };
    let commit = repo.head()?.peel_to_commit()?;
    let mut tree = commit.tree()?;
    let prefix = inside.join(subdir);
    if prefix.components().next().is_some() {
        let entry = match tree.get_path(&prefix) {
            Ok(entry) => entry,
            Err(_) => return Ok(None),
        };
        tree = repo.find_tree(entry.id())?;
    }
    let mut committed: BTreeMap<String, git2::Oid> = BTreeMap::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let is_file = entry.kind() == Some(git2::ObjectType::Blob) && entry.filemode() != 0o120000;
        if let (true, Ok(name)) = (is_file, entry.name()) {
            let path = strata_agent_source::join_path(subdir, &format!("{dir}{name}"));
            if is_config_path(&path) {
                committed.insert(path, entry.id());
            }
        }
        git2::TreeWalkResult::Ok
    })?;
    let same = committed.len() == files.len()
        && files.iter().all(|file| {
            committed.get(&file.path).is_some_and(|id| {
                git2::Oid::hash_object(git2::ObjectType::Blob, &file.contents)
                    .is_ok_and(|hash| hash == *id)
            })
        });
    Ok(same.then(|| commit.id().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_are_told_from_paths() {
        for url in [
            "https://github.com/example/config.git",
            "ssh://git@github.com/example/config.git",
            "file:///srv/git/config.git",
            "git@github.com:example/config.git",
            "github.com:example/config",
        ] {
            assert!(is_git_url(url), "{url}");
        }
        for path in ["config-repo", "./config-repo", "/srv/config", "a/b:c", ":x"] {
            assert!(!is_git_url(path), "{path}");
        }
    }

    #[test]
    fn subdirs_are_normalised() {
        assert_eq!(normalise("").unwrap(), "");
        assert_eq!(normalise("./tiers//redis/").unwrap(), "tiers/redis");
        assert!(normalise("/etc").is_err());
        assert!(normalise("tiers/../..").is_err());
    }
}
