//! What to fetch: a branch, a tag or an exact commit.

use std::fmt;
use std::str::FromStr;

/// A commit id: 40 lowercase hex digits (SHA-1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(git2::Oid);

impl CommitId {
    /// The first seven hex digits, as `git log --oneline` shows them.
    pub fn short(&self) -> String {
        let mut hex = self.to_string();
        hex.truncate(7);
        hex
    }

    pub(crate) fn from_oid(oid: git2::Oid) -> Self {
        Self(oid)
    }

    pub(crate) fn oid(self) -> git2::Oid {
        self.0
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitId({})", self.0)
    }
}

impl FromStr for CommitId {
    type Err = ParseReferenceError;

    /// Parses a full 40-digit hex commit id (either case); abbreviations are refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !is_full_hex(s) {
            return Err(ParseReferenceError::InvalidCommit(s.to_owned()));
        }
        git2::Oid::from_str(s)
            .map(Self)
            .map_err(|_| ParseReferenceError::InvalidCommit(s.to_owned()))
    }
}

fn is_full_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What to fetch from the config repository.
///
/// Parsed from the user's string with [`str::parse`]:
///
/// | input | reference |
/// |---|---|
/// | `refs/heads/main`, `branch:main`, `main` | branch `main` |
/// | `refs/tags/v1.2`, `tag:v1.2` | tag `v1.2` |
/// | 40 hex digits, `commit:<40 hex digits>` | that exact commit |
///
/// Surrounding whitespace is ignored. A branch whose name is 40 hex digits must be
/// written `branch:…` or `refs/heads/…`. [`Display`](fmt::Display) writes the
/// canonical form (`refs/heads/main`, `refs/tags/v1.2` or the commit id), which parses
/// back to the same reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reference {
    /// A branch, by its short name (`main`, not `refs/heads/main`).
    Branch(String),
    /// A tag, by its short name (`v1.2`, not `refs/tags/v1.2`).
    Tag(String),
    /// An exact commit.
    Commit(CommitId),
}

impl Reference {
    /// The full name of the ref on the remote (`refs/heads/main`, `refs/tags/v1.2`);
    /// `None` for a commit.
    pub fn remote_ref(&self) -> Option<String> {
        match self {
            Reference::Branch(name) => Some(format!("refs/heads/{name}")),
            Reference::Tag(name) => Some(format!("refs/tags/{name}")),
            Reference::Commit(_) => None,
        }
    }

    /// Where the fetched ref is kept in the cache repository.
    pub(crate) fn local_ref(&self) -> Option<String> {
        match self {
            Reference::Branch(name) => Some(format!("refs/remotes/origin/{name}")),
            Reference::Tag(name) => Some(format!("refs/tags/{name}")),
            Reference::Commit(_) => None,
        }
    }

    /// The forced, narrow fetch refspec for this reference.
    pub(crate) fn refspec(&self) -> String {
        match (self.remote_ref(), self.local_ref()) {
            (Some(remote), Some(local)) => format!("+{remote}:{local}"),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Branch(name) => write!(f, "refs/heads/{name}"),
            Reference::Tag(name) => write!(f, "refs/tags/{name}"),
            Reference::Commit(id) => write!(f, "{id}"),
        }
    }
}

impl FromStr for Reference {
    type Err = ParseReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ParseReferenceError::Empty);
        }
        if let Some(name) = s.strip_prefix("refs/heads/") {
            branch(name)
        } else if let Some(name) = s.strip_prefix("refs/tags/") {
            tag(name)
        } else if s.starts_with("refs/") {
            Err(ParseReferenceError::UnsupportedRef(s.to_owned()))
        } else if let Some(name) = s.strip_prefix("branch:") {
            branch(name)
        } else if let Some(name) = s.strip_prefix("tag:") {
            tag(name)
        } else if let Some(id) = s.strip_prefix("commit:") {
            id.parse().map(Reference::Commit)
        } else if is_full_hex(s) {
            s.parse().map(Reference::Commit)
        } else {
            branch(s)
        }
    }
}

fn branch(name: &str) -> Result<Reference, ParseReferenceError> {
    if name == "HEAD" || !valid_ref_name("refs/heads/", name) {
        return Err(ParseReferenceError::InvalidBranch(name.to_owned()));
    }
    Ok(Reference::Branch(name.to_owned()))
}

fn tag(name: &str) -> Result<Reference, ParseReferenceError> {
    if !valid_ref_name("refs/tags/", name) {
        return Err(ParseReferenceError::InvalidTag(name.to_owned()));
    }
    Ok(Reference::Tag(name.to_owned()))
}

/// A valid ref name that `git branch`/`git tag` would also create (no leading `-`).
fn valid_ref_name(prefix: &str, name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && git2::Reference::is_valid_name(&format!("{prefix}{name}"))
}

/// Why a reference string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseReferenceError {
    /// The string is empty.
    #[error("empty reference")]
    Empty,
    /// Not a valid git branch name.
    #[error("invalid branch name {0:?}")]
    InvalidBranch(String),
    /// Not a valid git tag name.
    #[error("invalid tag name {0:?}")]
    InvalidTag(String),
    /// Not a full 40-digit hex commit id.
    #[error("invalid commit id {0:?} (need all 40 hex digits)")]
    InvalidCommit(String),
    /// A full ref outside `refs/heads/` and `refs/tags/`.
    #[error("unsupported ref {0:?} (use refs/heads/…, refs/tags/… or a commit id)")]
    UnsupportedRef(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef01234567";

    fn parse(s: &str) -> Result<Reference, ParseReferenceError> {
        s.parse()
    }

    fn commit(s: &str) -> Reference {
        Reference::Commit(s.parse().unwrap())
    }

    #[test]
    fn branches() {
        let main = Ok(Reference::Branch("main".into()));
        assert_eq!(parse("main"), main);
        assert_eq!(parse("refs/heads/main"), main);
        assert_eq!(parse("branch:main"), main);
        assert_eq!(parse("  main\n"), main);
        assert_eq!(
            parse("release/2024-06"),
            Ok(Reference::Branch("release/2024-06".into()))
        );
        // A branch that looks like a commit id when spelled out.
        assert_eq!(
            parse(&format!("branch:{ID}")),
            Ok(Reference::Branch(ID.into()))
        );
        assert_eq!(
            parse(&format!("refs/heads/{ID}")),
            Ok(Reference::Branch(ID.into()))
        );
        // Abbreviated ids are branch names: only full ids pin a commit.
        assert_eq!(parse("0123456"), Ok(Reference::Branch("0123456".into())));
    }

    #[test]
    fn tags() {
        let v1 = Ok(Reference::Tag("v1.2.3".into()));
        assert_eq!(parse("refs/tags/v1.2.3"), v1);
        assert_eq!(parse("tag:v1.2.3"), v1);
    }

    #[test]
    fn commits() {
        assert_eq!(parse(ID), Ok(commit(ID)));
        assert_eq!(parse(&format!("commit:{ID}")), Ok(commit(ID)));
        // Upper case is accepted and normalised.
        assert_eq!(parse(&ID.to_uppercase()), Ok(commit(ID)));
        assert_eq!(parse(ID).unwrap().to_string(), ID);
        assert_eq!(ID.parse::<CommitId>().unwrap().short(), "0123456");
        assert_eq!(
            parse("commit:0123456"),
            Err(ParseReferenceError::InvalidCommit("0123456".into()))
        );
    }

    #[test]
    fn invalid() {
        assert_eq!(parse(""), Err(ParseReferenceError::Empty));
        assert_eq!(parse("  "), Err(ParseReferenceError::Empty));
        for bad in [
            "foo..bar",
            "a b",
            "x~1",
            "ends.lock",
            "-",
            "HEAD",
            "refs/heads/",
        ] {
            assert!(
                matches!(parse(bad), Err(ParseReferenceError::InvalidBranch(_))),
                "{bad:?} gave {:?}",
                parse(bad)
            );
        }
        assert_eq!(
            parse("branch:"),
            Err(ParseReferenceError::InvalidBranch("".into()))
        );
        assert_eq!(
            parse("tag:a..b"),
            Err(ParseReferenceError::InvalidTag("a..b".into()))
        );
        assert_eq!(
            parse("refs/pull/1/head"),
            Err(ParseReferenceError::UnsupportedRef(
                "refs/pull/1/head".into()
            ))
        );
    }

    #[test]
    fn display_round_trips() {
        for s in ["refs/heads/main", "refs/heads/a/b", "refs/tags/v1", ID] {
            let r = parse(s).unwrap();
            assert_eq!(r.to_string(), s);
            assert_eq!(parse(&r.to_string()), Ok(r));
        }
        assert_eq!(parse("main").unwrap().to_string(), "refs/heads/main");
        assert_eq!(parse("tag:v1").unwrap().to_string(), "refs/tags/v1");
    }

    #[test]
    fn refspecs_are_narrow_and_forced() {
        assert_eq!(
            parse("main").unwrap().refspec(),
            "+refs/heads/main:refs/remotes/origin/main"
        );
        assert_eq!(
            parse("tag:v1").unwrap().refspec(),
            "+refs/tags/v1:refs/tags/v1"
        );
        assert_eq!(parse(ID).unwrap().refspec(), ID);
    }
}
