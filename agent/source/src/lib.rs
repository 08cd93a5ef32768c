//! strata-agent's git source: one ref (branch, tag or exact commit) of the config
//! repository, fetched shallowly with libgit2 into a local cache.
//!
//! ```no_run
//! use strata_agent_source::{Credentials, Source, SourceConfig};
//!
//! let mut source = Source::new(SourceConfig {
//!     url: "https://github.com/example/config.git".into(),
//!     reference: "main".parse()?,
//!     credentials: Credentials::Token { file: "/var/run/secrets/git/token".into() },
//!     cache_dir: "/var/cache/strata".into(),
//! })?;
//! match source.sync() {
//!     Ok(synced) if synced.changed => {
//!         let files = source.files(synced.revision.id, Some("workloads"))?;
//!         println!("{} files at {}", files.len(), synced.revision.id.short());
//!     }
//!     Ok(_) => {} // nothing new
//!     Err(error) if error.is_transient() => { /* back off and retry */ }
//!     Err(error) => {
//!         // stalled until the configuration changes; the last good revision stays
//!         eprintln!("{error}; still serving {:?}", source.last_good());
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! * The cache is a bare repository per URL under the cache directory; it survives
//!   restarts, as does the last good revision (a ref in it).
//! * An unchanged ref costs one round trip: the remote's refs are listed and compared
//!   with the last good revision before anything is fetched.
//! * Credentials come from files read at fetch time (a token for https, a key for
//!   ssh); they never appear in logs or errors.
//! * [`Error::is_transient`] tells network trouble (back off, retry) from
//!   configuration problems (a missing ref, refused credentials).

mod credentials;
mod reference;
mod remote_url;
mod source;
mod tree;

pub use credentials::{Credentials, CredentialsError, SSH_USERNAME, TOKEN_USERNAME};
pub use reference::{CommitId, ParseReferenceError, Reference};
pub use source::{Error, LAST_GOOD_REF, Revision, Source, SourceConfig, Synced};
pub use tree::{ReadError, RepoFile, join_path, normalise_subdir};

/// Sets libgit2's process-wide network timeouts: for establishing a connection and for
/// each read or write on it. libgit2 has none by default, so a server that stops
/// answering would block [`Source::sync`] forever; a timed-out sync fails with a
/// transient error.
///
/// # Safety
///
/// libgit2's global options are not synchronised: call this once at start-up, before
/// any other thread uses libgit2.
pub unsafe fn set_network_timeouts(
    connect: std::time::Duration,
    read_write: std::time::Duration,
) -> Result<(), git2::Error> {
    let millis = |d: std::time::Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX).max(1);
    // SAFETY: the caller guarantees no other thread uses libgit2 meanwhile.
    unsafe {
        git2::opts::set_server_connect_timeout_in_milliseconds(millis(connect))?;
        git2::opts::set_server_timeout_in_milliseconds(millis(read_write))?;
    }
    Ok(())
}
