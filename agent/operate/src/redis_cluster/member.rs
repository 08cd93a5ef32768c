//! A server pod the cluster is formed from, and the password its servers require.

use std::fmt;
use std::net::IpAddr;

/// A ready server pod: where its Redis listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The StatefulSet ordinal (`<name>-N`): it decides the pod's role in a fresh cluster.
    pub ordinal: u32,
    /// The pod's name, for messages.
    pub pod: String,
    pub ip: IpAddr,
    pub port: u16,
}

impl Member {
    /// `ip:port`, with brackets around an IPv6 address.
    pub fn addr(&self) -> String {
        std::net::SocketAddr::new(self.ip, self.port).to_string()
    }
}

/// The servers' password (`requirepass`). Its `Debug` hides it, so it cannot leak into
/// a log line or an error by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(password: impl Into<String>) -> Password {
        Password(password.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_addresses_and_hides_passwords() {
        let member = Member {
            ordinal: 0,
            pod: "redis-0".into(),
            ip: "fd00::1".parse().unwrap(),
            port: 6379,
        };
        assert_eq!(member.addr(), "[fd00::1]:6379");
        assert_eq!(
            format!("{:?}", Password::new("hunter2")),
            "Password(<redacted>)"
        );
    }
}
