//! The go-plugin launch contract: magic cookie, protocol negotiation, the
//! listening port and the handshake line on stdout.
//!
//! These are pure functions (plus one bind loop) so they can be tested without
//! a process; `serve` strings them together.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;

use super::ServeError;

/// Environment variable carrying Terraform's magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";

/// The cookie value Terraform sets for every provider it launches. It is not a
/// secret, only a guard against running the binary by hand.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// The only plugin protocol version we speak (tfplugin6).
pub const PROTOCOL_VERSION: u32 = 6;

/// go-plugin's own protocol version, the first field of the handshake line.
const CORE_PROTOCOL_VERSION: u32 = 1;

/// Printed on stderr when the cookie is missing: the binary was started by a
/// person, not by Terraform.
pub(super) const NOT_A_PLUGIN_EXPLANATION: &str = "\
This program is a Terraform provider plugin. It is not meant to be run directly:
terraform (or OpenTofu) starts it and talks to it over gRPC.

To use it, declare the provider in a Terraform configuration and run
`terraform init` and `terraform plan` there; Terraform will start this binary
itself.";

pub(super) fn cookie_matches(cookie: Option<&str>) -> bool {
    cookie == Some(MAGIC_COOKIE_VALUE)
}

/// Picks the protocol version from the client's `PLUGIN_PROTOCOL_VERSIONS`.
///
/// The list is a set in no particular order (Terraform sends `5,6` or `6,5`);
/// entries that are not numbers are skipped, as go-plugin does. A client that
/// sends no list is an old one that expects the plugin's default, 6.
pub(super) fn negotiate_protocol(offered: Option<&str>) -> Result<u32, ServeError> {
    let Some(list) = offered.filter(|list| !list.trim().is_empty()) else {
        return Ok(PROTOCOL_VERSION);
    };
    let versions: BTreeSet<u32> = list
        .split(',')
        .filter_map(|item| match item.trim().parse() {
            Ok(version) => Some(version),
            Err(_) => {
                tracing::debug!(item, "ignoring a non-numeric plugin protocol version");
                None
            }
        })
        .collect();
    if versions.contains(&PROTOCOL_VERSION) {
        Ok(PROTOCOL_VERSION)
    } else {
        Err(ServeError::UnsupportedProtocol {
            offered: list.to_owned(),
        })
    }
}

/// Binds 127.0.0.1 on a free port in `min..=max`, or on any port when neither
/// bound is given (debug runs, tests).
///
/// Terraform starts several provider processes at once with the same range, so
/// the scan starts at a per-process random offset instead of always at `min`:
/// fewer processes race for the same first ports. A missing lower bound means
/// 1024 and a missing upper bound 65535.
pub(super) async fn bind_listener(
    min: Option<u16>,
    max: Option<u16>,
) -> Result<TcpListener, ServeError> {
    if min.is_none() && max.is_none() {
        return TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|source| ServeError::Bind {
                min: 0,
                max: 0,
                source,
            });
    }
    let (min, max) = (min.unwrap_or(1024), max.unwrap_or(u16::MAX));
    let invalid_range = || ServeError::Bind {
        min,
        max,
        source: io::Error::new(io::ErrorKind::InvalidInput, "empty port range"),
    };
    if min > max || max == 0 {
        return Err(invalid_range());
    }
    let min = min.max(1);
    let span = u32::from(max - min) + 1;
    let offset = random_u32() % span;
    let mut last_error = None;
    for step in 0..span {
        // Fits: min + ((offset + step) % span) <= max.
        let port = min + ((offset + step) % span) as u16;
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(ServeError::Bind {
        min,
        max,
        // `span >= 1`, so at least one port was tried.
        source: last_error.unwrap_or_else(|| io::ErrorKind::AddrNotAvailable.into()),
    })
}

/// A random number without a `rand` dependency: std seeds every `RandomState`
/// from the OS, which is plenty for spreading port choices.
fn random_u32() -> u32 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish() as u32
}

/// The handshake line, without its newline:
/// `CORE|APP|tcp|ADDR|grpc|CERT` where CERT is the server certificate's DER in
/// standard base64 **without padding** (Terraform rejects padding with
/// "illegal base64 data"), or empty when serving plaintext.
pub(super) fn handshake_line(
    version: u32,
    addr: SocketAddr,
    cert: Option<&CertificateDer<'_>>,
) -> String {
    let cert = cert
        .map(|der| STANDARD_NO_PAD.encode(der.as_ref()))
        .unwrap_or_default();
    format!("{CORE_PROTOCOL_VERSION}|{version}|tcp|{addr}|grpc|{cert}")
}

/// Writes the handshake line to stdout and flushes it. Terraform takes the
/// first stdout line as the handshake, so this must be the first and only
/// thing we ever write there.
pub(super) fn announce(line: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(line.as_bytes())?;
    stdout.write_all(b"\n")?;
    stdout.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_must_match_exactly() {
        assert!(cookie_matches(Some(MAGIC_COOKIE_VALUE)));
        assert!(!cookie_matches(None));
        assert!(!cookie_matches(Some("")));
        assert!(!cookie_matches(Some(&MAGIC_COOKIE_VALUE[1..])));
    }

    #[test]
    fn protocol_versions_are_a_set() {
        assert_eq!(negotiate_protocol(Some("5,6")).unwrap(), 6);
        assert_eq!(negotiate_protocol(Some("6,5")).unwrap(), 6);
        assert_eq!(negotiate_protocol(Some(" 6 ")).unwrap(), 6);
        assert_eq!(negotiate_protocol(Some("x,6")).unwrap(), 6);
        assert_eq!(negotiate_protocol(None).unwrap(), 6);
        assert_eq!(negotiate_protocol(Some("")).unwrap(), 6);
    }

    #[test]
    fn protocol_without_6_is_refused() {
        let err = negotiate_protocol(Some("4,5")).unwrap_err();
        assert!(matches!(err, ServeError::UnsupportedProtocol { ref offered } if offered == "4,5"));
        assert!(err.to_string().contains("only version 6"), "{err}");
    }

    #[test]
    fn handshake_line_uses_unpadded_base64() {
        let addr: SocketAddr = "127.0.0.1:10042".parse().unwrap();
        // 4 bytes would need "==" padding in standard base64.
        let der = CertificateDer::from(vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(
            handshake_line(6, addr, Some(&der)),
            "1|6|tcp|127.0.0.1:10042|grpc|3q2+7w"
        );
        assert_eq!(
            handshake_line(6, addr, None),
            "1|6|tcp|127.0.0.1:10042|grpc|"
        );
    }

    #[tokio::test]
    async fn binds_within_the_range() {
        let first = bind_listener(Some(41000), Some(41010)).await.unwrap();
        let port = first.local_addr().unwrap().port();
        assert!((41000..=41010).contains(&port));
        assert!(first.local_addr().unwrap().ip().is_loopback());

        // A one-port range that is taken cannot be bound.
        let err = bind_listener(Some(port), Some(port)).await.unwrap_err();
        assert!(matches!(err, ServeError::Bind { .. }), "{err}");
    }

    #[tokio::test]
    async fn binds_any_port_without_a_range() {
        let listener = bind_listener(None, None).await.unwrap();
        assert_ne!(listener.local_addr().unwrap().port(), 0);
    }

    #[tokio::test]
    async fn empty_range_is_an_error() {
        assert!(bind_listener(Some(20000), Some(10000)).await.is_err());
    }
}
