//! A last line of defence for `/status`: the loop publishes the repo URL redacted, but
//! a URL with credentials must not be served even if one slips through.

/// `url` without secrets in its userinfo: a password becomes `***`, and so does a bare
/// user name on http(s), where it is almost always a token (`https://<token>@host/…`).
/// An ssh user name (`ssh://git@host/…`) is kept: it is not a secret.
pub fn repo_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // scp-like `git@host:org/repo.git` or a local path: no password to hide.
        return url.to_owned();
    };
    let start = scheme_end + 3;
    let authority_end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) else {
        return url.to_owned();
    };
    let (scheme, userinfo, rest) = (&url[..start], &url[start..at], &url[at..]);
    let user = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None if scheme.to_ascii_lowercase().starts_with("http") => "***".to_owned(),
        None => userinfo.to_owned(),
    };
    format!("{scheme}{user}{rest}")
}

#[cfg(test)]
mod tests {
    use super::repo_url;

    #[test]
    fn hides_passwords_and_http_tokens() {
        let cases = [
            (
                "https://bot:ghp_secret@github.com/org/config.git",
                "https://bot:***@github.com/org/config.git",
            ),
            (
                "https://ghp_secret@github.com/org/config.git",
                "https://***@github.com/org/config.git",
            ),
            (
                "HTTP://user:pw@example.com:8080/a@b",
                "HTTP://user:***@example.com:8080/a@b",
            ),
            (
                "ssh://git@github.com/org/c.git",
                "ssh://git@github.com/org/c.git",
            ),
            (
                "ssh://git:pw@github.com/org/c.git",
                "ssh://git:***@github.com/org/c.git",
            ),
            ("git@github.com:org/c.git", "git@github.com:org/c.git"),
            (
                "https://github.com/org/c.git",
                "https://github.com/org/c.git",
            ),
            // An @ in the path is not userinfo.
            ("https://h/a:b@c", "https://h/a:b@c"),
            ("/srv/config", "/srv/config"),
        ];
        for (url, expected) in cases {
            assert_eq!(repo_url(url), expected, "{url}");
        }
    }
}
