//! Credentials for the config repository, read from mounted files at fetch time.

use std::cell::RefCell;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use git2::{Cred, CredentialType};

use crate::remote_url::Scheme;

/// The user name sent with a token when the URL names none (GitHub's convention; GitLab
/// and Gitea accept any user name with a token).
pub const TOKEN_USERNAME: &str = "x-access-token";

/// The user name for ssh when the URL names none (`ssh://host/…`).
pub const SSH_USERNAME: &str = "git";

/// How to authenticate to the config repository.
///
/// The files are read at every fetch, so a rotated secret (a re-mounted Kubernetes
/// Secret) is picked up without a restart. Their contents never appear in logs or
/// errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials: a public repository, `file://`, or a password in the URL.
    #[default]
    None,
    /// For `https://` (and `http://`): a token read from `file` (surrounding whitespace
    /// trimmed), sent as the password. The user name is the URL's, or
    /// [`TOKEN_USERNAME`].
    Token {
        /// File holding the token.
        file: PathBuf,
    },
    /// For `ssh://` and scp-like `user@host:path`: a private key file, optionally
    /// encrypted with the passphrase in `passphrase_file` (trailing newline ignored).
    /// The user name is the URL's, or [`SSH_USERNAME`].
    SshKey {
        /// The private key (OpenSSH or PEM).
        file: PathBuf,
        /// File holding the key's passphrase.
        passphrase_file: Option<PathBuf>,
    },
}

impl Credentials {
    fn kind(&self) -> &'static str {
        match self {
            Credentials::None => "no",
            Credentials::Token { .. } => "token",
            Credentials::SshKey { .. } => "ssh key",
        }
    }

    /// Checks that these credentials can be used over `scheme`.
    pub(crate) fn check_scheme(&self, scheme: Scheme) -> Result<(), CredentialsError> {
        let fits = match self {
            Credentials::None => true,
            Credentials::Token { .. } => matches!(scheme, Scheme::Https | Scheme::Http),
            Credentials::SshKey { .. } => scheme == Scheme::Ssh,
        };
        if fits {
            Ok(())
        } else {
            Err(CredentialsError::WrongScheme {
                kind: self.kind(),
                scheme: scheme.to_string(),
            })
        }
    }
}

/// Why credentials could not be provided, or were refused.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The credentials do not fit the URL (a token for ssh, a key for https, …).
    #[error("{kind} credentials cannot be used with a {scheme} url")]
    WrongScheme {
        /// `token` or `ssh key`.
        kind: &'static str,
        /// The URL's scheme.
        scheme: String,
    },
    /// The server asked for credentials and none are configured.
    #[error("the server asked for credentials but none are configured")]
    NotConfigured,
    /// The server asked for a kind of credentials the configured ones cannot give.
    #[error("the server asked for {allowed} credentials, not a {kind}")]
    NotAccepted {
        /// The configured kind.
        kind: &'static str,
        /// What the server accepts, as libgit2 reports it.
        allowed: String,
    },
    /// The server refused the credentials.
    #[error("the server rejected the {kind}")]
    Rejected {
        /// The configured kind.
        kind: &'static str,
    },
    /// A credentials file could not be read.
    #[error("reading {what} file {path}")]
    Read {
        /// `token`, `ssh key` or `ssh key passphrase`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The token file is empty.
    #[error("token file {path} is empty")]
    EmptyToken {
        /// The file.
        path: PathBuf,
    },
    /// libgit2 could not build the credential.
    #[error("preparing {kind} credentials")]
    Git {
        /// The configured kind.
        kind: &'static str,
        /// The cause.
        #[source]
        source: git2::Error,
    },
}

/// What to answer libgit2's credentials request with (decided without touching files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Offer {
    /// User name and the token as password.
    Token { username: String },
    /// Only a user name (libgit2's first ssh question when the URL has none).
    Username(String),
    /// User name and the private key.
    SshKey { username: String },
}

impl Offer {
    fn kind(&self) -> &'static str {
        match self {
            Offer::Token { .. } => "token",
            Offer::Username(_) => "ssh user name",
            Offer::SshKey { .. } => "ssh key",
        }
    }
}

/// Chooses what to offer for a request that allows `allowed`, a URL naming
/// `url_username`.
pub(crate) fn select(
    credentials: &Credentials,
    allowed: CredentialType,
    url_username: Option<&str>,
) -> Result<Offer, CredentialsError> {
    let username = |default: &str| {
        url_username
            .filter(|u| !u.is_empty())
            .unwrap_or(default)
            .to_owned()
    };
    match credentials {
        Credentials::None => Err(CredentialsError::NotConfigured),
        Credentials::Token { .. } if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) => {
            Ok(Offer::Token {
                username: username(TOKEN_USERNAME),
            })
        }
        Credentials::SshKey { .. } if allowed.contains(CredentialType::SSH_KEY) => {
            Ok(Offer::SshKey {
                username: username(SSH_USERNAME),
            })
        }
        Credentials::SshKey { .. } if allowed.contains(CredentialType::USERNAME) => {
            Ok(Offer::Username(username(SSH_USERNAME)))
        }
        _ => Err(CredentialsError::NotAccepted {
            kind: credentials.kind(),
            allowed: format!("{allowed:?}"),
        }),
    }
}

/// Answers libgit2's credential requests for one connection.
///
/// Each kind of offer is made once: libgit2 asks again when the server refused the
/// previous answer, and asking again with the same secret would loop. The first
/// problem is kept so the caller can report it instead of libgit2's generic error.
pub(crate) struct Authenticator<'a> {
    credentials: &'a Credentials,
    offered: RefCell<Vec<Offer>>,
    problem: RefCell<Option<CredentialsError>>,
}

impl<'a> Authenticator<'a> {
    pub(crate) fn new(credentials: &'a Credentials) -> Self {
        Self {
            credentials,
            offered: RefCell::default(),
            problem: RefCell::default(),
        }
    }

    /// The credentials problem behind a failed connection, if there was one.
    pub(crate) fn take_problem(&self) -> Option<CredentialsError> {
        self.problem.borrow_mut().take()
    }

    /// The `RemoteCallbacks::credentials` callback.
    pub(crate) fn credential(
        &self,
        url_username: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        let result = select(self.credentials, allowed, url_username).and_then(|offer| {
            if self.offered.borrow().contains(&offer) {
                return Err(CredentialsError::Rejected { kind: offer.kind() });
            }
            self.offered.borrow_mut().push(offer.clone());
            self.make(&offer)
        });
        result.map_err(|problem| {
            tracing::debug!(error = %problem, "not offering credentials");
            let code = match problem {
                CredentialsError::Rejected { .. } => git2::ErrorCode::Auth,
                _ => git2::ErrorCode::GenericError,
            };
            let error = git2::Error::new(code, git2::ErrorClass::Callback, problem.to_string());
            self.problem.borrow_mut().get_or_insert(problem);
            error
        })
    }

    fn make(&self, offer: &Offer) -> Result<Cred, CredentialsError> {
        tracing::debug!(offer = offer.kind(), "offering credentials");
        let git = |source| CredentialsError::Git {
            kind: self.credentials.kind(),
            source,
        };
        match (offer, self.credentials) {
            (Offer::Token { username }, Credentials::Token { file }) => {
                let token = read_secret("token", file)?;
                let token = token.trim();
                if token.is_empty() {
                    return Err(CredentialsError::EmptyToken { path: file.clone() });
                }
                Cred::userpass_plaintext(username, token).map_err(git)
            }
            (Offer::Username(username), _) => Cred::username(username).map_err(git),
            (
                Offer::SshKey { username },
                Credentials::SshKey {
                    file,
                    passphrase_file,
                },
            ) => {
                // Read it ourselves first: libssh2's error for an unreadable key is vague.
                read_secret("ssh key", file)?;
                let passphrase = passphrase_file
                    .as_deref()
                    .map(|path| read_secret("ssh key passphrase", path))
                    .transpose()?;
                let passphrase = passphrase
                    .as_deref()
                    .map(|p| p.trim_end_matches(['\r', '\n']));
                Cred::ssh_key(username, None, file, passphrase).map_err(git)
            }
            _ => Err(CredentialsError::NotConfigured),
        }
    }
}

fn read_secret(what: &'static str, path: &Path) -> Result<String, CredentialsError> {
    fs::read_to_string(path).map_err(|source| CredentialsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

impl fmt::Debug for Authenticator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("credentials", &self.credentials.kind())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn token() -> Credentials {
        Credentials::Token {
            file: "/nonexistent/token".into(),
        }
    }

    fn key() -> Credentials {
        Credentials::SshKey {
            file: "/nonexistent/key".into(),
            passphrase_file: None,
        }
    }

    fn kind(cred: &Cred) -> CredentialType {
        CredentialType::from_bits_truncate(cred.credtype())
    }

    fn refused(result: Result<Cred, git2::Error>) -> git2::Error {
        match result {
            Ok(cred) => panic!("offered {:?}", kind(&cred)),
            Err(error) => error,
        }
    }

    /// What libgit2's http transport allows after a 401 with `WWW-Authenticate: Basic`.
    const HTTP: CredentialType = CredentialType::USER_PASS_PLAINTEXT;

    /// What libgit2's ssh transport allows once it knows the user name.
    fn ssh() -> CredentialType {
        CredentialType::SSH_KEY
            | CredentialType::SSH_CUSTOM
            | CredentialType::SSH_INTERACTIVE
            | CredentialType::USER_PASS_PLAINTEXT
    }

    #[test]
    fn token_over_https_uses_the_default_user_name_unless_the_url_has_one() {
        assert_eq!(
            select(&token(), HTTP, None).unwrap(),
            Offer::Token {
                username: TOKEN_USERNAME.into()
            }
        );
        assert_eq!(
            select(&token(), HTTP, Some("")).unwrap(),
            Offer::Token {
                username: TOKEN_USERNAME.into()
            }
        );
        assert_eq!(
            select(&token(), HTTP, Some("oauth2")).unwrap(),
            Offer::Token {
                username: "oauth2".into()
            }
        );
    }

    #[test]
    fn ssh_key_answers_the_user_name_question_then_offers_the_key() {
        // scp-like URL without a user: libgit2 first asks for the user name only.
        assert_eq!(
            select(&key(), CredentialType::USERNAME, None).unwrap(),
            Offer::Username(SSH_USERNAME.into())
        );
        assert_eq!(
            select(&key(), ssh(), Some("deploy")).unwrap(),
            Offer::SshKey {
                username: "deploy".into()
            }
        );
        assert_eq!(
            select(&key(), ssh(), None).unwrap(),
            Offer::SshKey {
                username: SSH_USERNAME.into()
            }
        );
    }

    #[test]
    fn mismatched_requests_are_refused() {
        // A key cannot answer an http password request; a token cannot answer ssh.
        assert!(matches!(
            select(&key(), HTTP, None),
            Err(CredentialsError::NotAccepted {
                kind: "ssh key",
                ..
            })
        ));
        assert!(matches!(
            select(&token(), CredentialType::SSH_KEY, None),
            Err(CredentialsError::NotAccepted { kind: "token", .. })
        ));
        assert!(matches!(
            select(&Credentials::None, HTTP, None),
            Err(CredentialsError::NotConfigured)
        ));
    }

    #[test]
    fn credentials_must_fit_the_url_scheme() {
        for scheme in [Scheme::Https, Scheme::Http] {
            token().check_scheme(scheme).unwrap();
            assert!(key().check_scheme(scheme).is_err());
        }
        key().check_scheme(Scheme::Ssh).unwrap();
        let err = token().check_scheme(Scheme::Ssh).unwrap_err();
        assert_eq!(
            err.to_string(),
            "token credentials cannot be used with a ssh url"
        );
        assert!(token().check_scheme(Scheme::File).is_err());
        for scheme in [
            Scheme::Https,
            Scheme::Http,
            Scheme::Ssh,
            Scheme::Git,
            Scheme::File,
        ] {
            Credentials::None.check_scheme(scheme).unwrap();
        }
    }

    #[test]
    fn each_offer_is_made_once_and_secrets_stay_out_of_errors() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "  s3cr3t-token  ").unwrap();
        let creds = Credentials::Token {
            file: file.path().to_owned(),
        };
        let auth = Authenticator::new(&creds);
        let cred = auth.credential(None, HTTP).unwrap();
        assert_eq!(kind(&cred), CredentialType::USER_PASS_PLAINTEXT);
        assert!(auth.take_problem().is_none());

        // The server refused it and libgit2 asks again.
        let err = refused(auth.credential(None, HTTP));
        assert_eq!(err.code(), git2::ErrorCode::Auth);
        let problem = auth.take_problem().unwrap();
        assert!(matches!(
            problem,
            CredentialsError::Rejected { kind: "token" }
        ));
        assert!(!err.message().contains("s3cr3t"));
        assert!(!problem.to_string().contains("s3cr3t"));
    }

    #[test]
    fn unreadable_and_empty_token_files_are_reported_by_path() {
        let creds = token();
        let auth = Authenticator::new(&creds);
        refused(auth.credential(None, HTTP));
        let problem = auth.take_problem().unwrap();
        assert_eq!(problem.to_string(), "reading token file /nonexistent/token");

        let file = tempfile::NamedTempFile::new().unwrap();
        let creds = Credentials::Token {
            file: file.path().to_owned(),
        };
        let auth = Authenticator::new(&creds);
        refused(auth.credential(None, HTTP));
        assert!(matches!(
            auth.take_problem(),
            Some(CredentialsError::EmptyToken { .. })
        ));
    }

    #[test]
    fn ssh_key_is_offered_with_the_passphrase_from_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("id_ed25519");
        fs::write(&key_file, "-----BEGIN OPENSSH PRIVATE KEY-----\n").unwrap();
        let pass = dir.path().join("passphrase");
        fs::write(&pass, "correct horse\n").unwrap();
        let creds = Credentials::SshKey {
            file: key_file,
            passphrase_file: Some(pass),
        };
        let auth = Authenticator::new(&creds);
        let user = auth.credential(None, CredentialType::USERNAME).unwrap();
        assert_eq!(kind(&user), CredentialType::USERNAME);
        let cred = auth.credential(Some("git"), ssh()).unwrap();
        assert_eq!(kind(&cred), CredentialType::SSH_KEY);

        // A missing passphrase file is an error naming it.
        let creds = Credentials::SshKey {
            file: dir.path().join("id_ed25519"),
            passphrase_file: Some(dir.path().join("missing")),
        };
        let auth = Authenticator::new(&creds);
        refused(auth.credential(None, ssh()));
        let problem = auth.take_problem().unwrap().to_string();
        assert!(
            problem.starts_with("reading ssh key passphrase file "),
            "{problem}"
        );
        assert!(problem.ends_with("/missing"), "{problem}");
    }
}
