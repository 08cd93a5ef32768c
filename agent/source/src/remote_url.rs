//! Classifying, redacting and naming remote URLs.

use std::fmt;

/// How a remote URL is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    Https,
    Http,
    Ssh,
    Git,
    /// `file://` or a local path; libgit2's local transport.
    File,
}

impl Scheme {
    /// The scheme of `url`: `scheme://…`, scp-like `[user@]host:path` (ssh) or an
    /// absolute/relative local path. `None` when unsupported.
    pub(crate) fn of(url: &str) -> Option<Scheme> {
        if let Some((scheme, rest)) = url.split_once("://") {
            if rest.is_empty() {
                return None;
            }
            return match scheme.to_ascii_lowercase().as_str() {
                "https" => Some(Scheme::Https),
                "http" => Some(Scheme::Http),
                "ssh" | "ssh+git" | "git+ssh" => Some(Scheme::Ssh),
                "git" => Some(Scheme::Git),
                "file" => Some(Scheme::File),
                _ => None,
            };
        }
        if url.starts_with('/') || url.starts_with("./") || url.starts_with("../") {
            return Some(Scheme::File);
        }
        // scp-like: a colon before any slash, with a host in front of it.
        match (url.find(':'), url.find('/')) {
            (Some(colon), slash)
                if colon > 0
                    && slash.is_none_or(|s| colon < s)
                    && colon + 1 < url.len()
                    && !url[..colon].ends_with('@') =>
            {
                Some(Scheme::Ssh)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
            Scheme::Ssh => "ssh",
            Scheme::Git => "git",
            Scheme::File => "file",
        })
    }
}

/// Splits `scheme://userinfo@rest` into (`scheme://`, userinfo, rest).
fn split_userinfo(url: &str) -> Option<(&str, &str, &str)> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    Some((&url[..start], &url[start..at], &url[at + 1..]))
}

/// `url` with any password replaced by `***`, safe for logs and error messages.
pub(crate) fn redact(url: &str) -> String {
    match split_userinfo(url) {
        Some((scheme, userinfo, rest)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}{user}:***@{rest}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// `url` without user name or password: the same repository whoever fetches it.
fn without_userinfo(url: &str) -> String {
    match split_userinfo(url) {
        Some((scheme, _, rest)) => format!("{scheme}{rest}"),
        None => url.to_owned(),
    }
}

/// The cache directory name for `url`: a readable slug of the repository name and a
/// stable hash of the URL (without credentials), e.g. `config-1a2b3c4d5e6f7a8b.git`.
pub(crate) fn cache_name(url: &str) -> String {
    let key = without_userinfo(url);
    let hash = git2::Oid::hash_object(git2::ObjectType::Blob, key.as_bytes())
        .map(|oid| oid.to_string())
        .unwrap_or_else(|_| fnv1a(key.as_bytes()));
    let last = key
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or_default();
    let last = last.strip_suffix(".git").unwrap_or(last);
    let slug: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let slug = if slug.is_empty() { "repo" } else { &slug };
    format!("{slug}-{}.git", &hash[..16])
}

fn fnv1a(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        for (url, scheme) in [
            ("https://github.com/org/config.git", Some(Scheme::Https)),
            ("HTTP://example.com/config", Some(Scheme::Http)),
            ("ssh://git@github.com/org/config.git", Some(Scheme::Ssh)),
            ("git+ssh://host/config", Some(Scheme::Ssh)),
            ("git@github.com:org/config.git", Some(Scheme::Ssh)),
            ("github.com:org/config.git", Some(Scheme::Ssh)),
            ("git://host/config", Some(Scheme::Git)),
            ("file:///srv/git/config.git", Some(Scheme::File)),
            ("/srv/git/config.git", Some(Scheme::File)),
            ("./config", Some(Scheme::File)),
            ("ftp://host/config", None),
            ("https://", None),
            ("config", None),
            ("dir/with:colon", None),
            ("host:", None),
            ("", None),
        ] {
            assert_eq!(Scheme::of(url), scheme, "{url}");
        }
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("https://bot:ghp_secret@github.com/org/config.git"),
            "https://bot:***@github.com/org/config.git"
        );
        assert_eq!(
            redact("https://bot@github.com/org/config.git"),
            "https://bot@github.com/org/config.git"
        );
        assert_eq!(
            redact("git@github.com:org/c.git"),
            "git@github.com:org/c.git"
        );
        // An @ in the path is not userinfo.
        assert_eq!(redact("https://h/a:b@c"), "https://h/a:b@c");
    }

    #[test]
    fn cache_names_are_stable_and_ignore_credentials() {
        let a = cache_name("https://github.com/org/config.git");
        assert!(a.starts_with("config-") && a.ends_with(".git"), "{a}");
        assert_eq!(a.len(), "config-".len() + 16 + ".git".len());
        assert_eq!(
            a,
            cache_name("https://bot:secret@github.com/org/config.git")
        );
        assert_ne!(a, cache_name("https://github.com/other/config.git"));
        assert!(cache_name("git@host:org/my.repo.git").starts_with("my_repo-"));
        assert!(cache_name("file:///").starts_with("repo-"));
    }
}
