//! Reading the files of a revision out of the cache repository.

use std::path::Path;

use git2::{ObjectType, Repository, Tree};

use crate::reference::CommitId;

/// One file of a revision.
#[derive(Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// Path from the repository root, `/`-separated (`apps/redis.yaml`).
    pub path: String,
    /// The file's contents.
    pub contents: Vec<u8>,
}

impl std::fmt::Debug for RepoFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoFile")
            .field("path", &self.path)
            .field("len", &self.contents.len())
            .finish()
    }
}

/// Why the files of a revision could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The commit is not in the cache (never fetched).
    #[error("commit {id} is not in the cache")]
    MissingCommit {
        /// The commit.
        id: CommitId,
        /// The cause.
        #[source]
        source: git2::Error,
    },
    /// The subdirectory does not exist in the revision.
    #[error("directory {subdir:?} not found in revision {id}")]
    SubdirNotFound {
        /// The subdirectory, as given.
        subdir: String,
        /// The revision.
        id: CommitId,
    },
    /// The subdirectory names a file, not a directory.
    #[error("{subdir:?} is not a directory in revision {id}")]
    NotADirectory {
        /// The subdirectory, as given.
        subdir: String,
        /// The revision.
        id: CommitId,
    },
    /// The subdirectory is absolute or climbs out with `..`.
    #[error("invalid directory {0:?} (must be relative, without ..)")]
    InvalidSubdir(String),
    /// A path in the tree is not UTF-8.
    #[error("path {path:?} in revision {id} is not utf-8")]
    NonUtf8Path {
        /// The path, lossily converted.
        path: String,
        /// The revision.
        id: CommitId,
    },
    /// An object of the revision could not be read.
    #[error("reading {path:?} in revision {id}")]
    Object {
        /// The path of the object.
        path: String,
        /// The revision.
        id: CommitId,
        /// The cause.
        #[source]
        source: git2::Error,
    },
}

/// Normalises `subdir` to `a/b` (no leading/trailing or doubled `/`, no `.`); empty
/// means the root.
pub fn normalise_subdir(subdir: &str) -> Result<String, ReadError> {
    if subdir.starts_with('/') {
        return Err(ReadError::InvalidSubdir(subdir.to_owned()));
    }
    let mut parts = Vec::new();
    for part in subdir.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(ReadError::InvalidSubdir(subdir.to_owned())),
            part => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

/// All regular files (blobs) of commit `id` under `subdir`, sorted by path.
pub(crate) fn read_files(
    repo: &Repository,
    id: CommitId,
    subdir: Option<&str>,
) -> Result<Vec<RepoFile>, ReadError> {
    let commit = repo
        .find_commit(id.oid())
        .map_err(|source| ReadError::MissingCommit { id, source })?;
    let object_error = |path: &str| {
        let path = path.to_owned();
        move |source| ReadError::Object { path, id, source }
    };
    let mut tree = commit.tree().map_err(object_error(""))?;
    let prefix = normalise_subdir(subdir.unwrap_or_default())?;
    if !prefix.is_empty() {
        let given = subdir.unwrap_or_default().to_owned();
        let entry = tree.get_path(Path::new(&prefix)).map_err(|e| {
            if e.code() == git2::ErrorCode::NotFound {
                ReadError::SubdirNotFound {
                    subdir: given.clone(),
                    id,
                }
            } else {
                object_error(&prefix)(e)
            }
        })?;
        if entry.kind() != Some(ObjectType::Tree) {
            return Err(ReadError::NotADirectory { subdir: given, id });
        }
        tree = repo.find_tree(entry.id()).map_err(object_error(&prefix))?;
    }
    let mut files = Vec::new();
    collect(repo, id, &tree, &prefix, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

const MODE_LINK: i32 = 0o120000;

fn collect(
    repo: &Repository,
    id: CommitId,
    tree: &Tree<'_>,
    prefix: &str,
    out: &mut Vec<RepoFile>,
) -> Result<(), ReadError> {
    for entry in tree.iter() {
        let name = std::str::from_utf8(entry.name_bytes()).map_err(|_| ReadError::NonUtf8Path {
            path: join_path(prefix, &String::from_utf8_lossy(entry.name_bytes())),
            id,
        })?;
        let path = join_path(prefix, name);
        let object_error = |source| ReadError::Object {
            path: path.clone(),
            id,
            source,
        };
        match entry.kind() {
            Some(ObjectType::Tree) => {
                let subtree = repo.find_tree(entry.id()).map_err(object_error)?;
                collect(repo, id, &subtree, &path, out)?;
            }
            Some(ObjectType::Blob) if entry.filemode() == MODE_LINK => {
                tracing::debug!(path, "skipping symbolic link");
            }
            Some(ObjectType::Blob) => {
                let blob = repo.find_blob(entry.id()).map_err(object_error)?;
                out.push(RepoFile {
                    path,
                    contents: blob.content().to_vec(),
                });
            }
            // A submodule (a commit entry) has no contents here.
            kind => tracing::debug!(path, ?kind, "skipping non-file entry"),
        }
    }
    Ok(())
}

/// `prefix/name`, or `name` at the root (empty prefix).
pub fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdirs_are_normalised() {
        assert_eq!(normalise_subdir("").unwrap(), "");
        assert_eq!(normalise_subdir(".").unwrap(), "");
        assert_eq!(normalise_subdir("apps/").unwrap(), "apps");
        assert_eq!(normalise_subdir("./apps//redis/").unwrap(), "apps/redis");
        assert!(matches!(
            normalise_subdir("/etc"),
            Err(ReadError::InvalidSubdir(_))
        ));
        assert!(matches!(
            normalise_subdir("apps/../.."),
            Err(ReadError::InvalidSubdir(_))
        ));
    }
}
