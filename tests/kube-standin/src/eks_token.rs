//! `--eks-tokens`: bearer tokens shaped like EKS's (`aws eks get-token`,
//! aws-iam-authenticator): `k8s-aws-v1.` + base64url (no padding) of a presigned STS
//! `GetCallerIdentity` URL.
//!
//! Only the *form* is checked — an https URL (http only on a loopback host, for an STS
//! emulator such as moto), `Action=GetCallerIdentity`, a signature, `x-k8s-aws-id`
//! among the signed headers, and a signing time no more than 15 minutes ago (EKS's
//! token lifetime). The stand-in does **not** call STS: it does not know who signed
//! the URL, nor whether the signature is valid, nor which cluster it names (the header
//! value is signed but not in the URL).

use base64::Engine as _;

/// What every EKS token starts with.
pub const PREFIX: &str = "k8s-aws-v1.";
/// How long EKS accepts a token after it was signed.
const LIFETIME_SECS: i64 = 15 * 60;

/// Why a token is not an EKS token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    #[error("the token does not start with `k8s-aws-v1.`")]
    Prefix,
    #[error("the token is not base64url of a URL")]
    Encoding,
    #[error("the token's URL is not an https URL (or http on a loopback host)")]
    Scheme,
    #[error("the token's URL has no `{0}`")]
    Missing(&'static str),
    #[error("the token's URL asks for `{0}`, not `GetCallerIdentity`")]
    Action(String),
    #[error("the token's signed headers `{0}` do not include `x-k8s-aws-id`")]
    ClusterHeader(String),
    #[error("the token was signed at `{0}`, more than 15 minutes ago (or in the future)")]
    Expired(String),
}

/// The presigned URL inside a well-formed EKS token.
pub fn check(token: &str, now: jiff::Timestamp) -> Result<String, TokenProblem> {
    let encoded = token.strip_prefix(PREFIX).ok_or(TokenProblem::Prefix)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| TokenProblem::Encoding)?;
    let url = String::from_utf8(bytes).map_err(|_| TokenProblem::Encoding)?;
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(TokenProblem::Scheme);
        }
        rest
    } else {
        return Err(TokenProblem::Scheme);
    };
    let query = rest.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let pairs = crate::server::parse_query(query);
    let get = |k: &'static str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
            .ok_or(TokenProblem::Missing(k))
    };
    let action = get("Action")?;
    if action != "GetCallerIdentity" {
        return Err(TokenProblem::Action(action.to_owned()));
    }
    get("X-Amz-Signature")?;
    let signed = get("X-Amz-SignedHeaders")?;
    if !signed.split(';').any(|h| h == "x-k8s-aws-id") {
        return Err(TokenProblem::ClusterHeader(signed.to_owned()));
    }
    let date = get("X-Amz-Date")?;
    let signed_at = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", date)
        .and_then(|t| t.to_datetime())
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC))
        .map_err(|_| TokenProblem::Expired(date.to_owned()))?
        .timestamp();
    let age = now.as_second() - signed_at.as_second();
    // A little clock skew either way, as STS allows.
    if !(-300..=LIFETIME_SECS).contains(&age) {
        return Err(TokenProblem::Expired(date.to_owned()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(url: &str) -> String {
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
        )
    }

    const NOW: &str = "2024-01-02T03:10:00Z";
    const GOOD: &str = "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240102%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=20240102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=abc123";

    fn now() -> jiff::Timestamp {
        NOW.parse().unwrap()
    }

    #[test]
    fn well_formed_tokens_pass() {
        assert_eq!(check(&token(GOOD), now()).unwrap(), GOOD);
        let local = GOOD.replace(
            "https://sts.us-west-2.amazonaws.com",
            "http://127.0.0.1:5000",
        );
        assert!(check(&token(&local), now()).is_ok());
    }

    #[test]
    fn malformed_tokens_say_why() {
        assert_eq!(check("abc", now()), Err(TokenProblem::Prefix));
        assert_eq!(check("k8s-aws-v1.!!!", now()), Err(TokenProblem::Encoding));
        let http = GOOD.replace("https://", "http://");
        assert_eq!(check(&token(&http), now()), Err(TokenProblem::Scheme));
        let other = GOOD.replace("GetCallerIdentity", "AssumeRole");
        assert!(matches!(
            check(&token(&other), now()),
            Err(TokenProblem::Action(_))
        ));
        let unsigned = GOOD.replace("&X-Amz-Signature=abc123", "");
        assert_eq!(
            check(&token(&unsigned), now()),
            Err(TokenProblem::Missing("X-Amz-Signature"))
        );
        let no_cluster = GOOD.replace("host%3Bx-k8s-aws-id", "host");
        assert!(matches!(
            check(&token(&no_cluster), now()),
            Err(TokenProblem::ClusterHeader(_))
        ));
        let later: jiff::Timestamp = "2024-01-02T03:30:00Z".parse().unwrap();
        assert!(matches!(
            check(&token(GOOD), later),
            Err(TokenProblem::Expired(_))
        ));
    }
}
