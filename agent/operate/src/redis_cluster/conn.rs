//! One connection to one server, and the `CLUSTER` commands the operate step sends.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};

use super::member::{Member, Password};
use super::nodes::{Info, SlotRange, View};
use crate::error::Error;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Slots per `CLUSTER ADDSLOTS` when the server predates `ADDSLOTSRANGE` (Redis < 7).
const ADDSLOTS_BATCH: u16 = 1000;

/// A connected server pod.
pub struct Node {
    pub member: Member,
    /// Its node id (`CLUSTER MYID`), read once: it only changes on `CLUSTER RESET`.
    pub id: String,
    conn: MultiplexedConnection,
}

impl Node {
    pub async fn connect(member: &Member, password: Option<&Password>) -> Result<Node, Error> {
        let mut settings = RedisConnectionInfo::default().set_skip_set_lib_name();
        if let Some(password) = password {
            settings = settings.set_password(password.expose());
        }
        let failed = |source| Error::Redis {
            pod: member.pod.clone(),
            addr: member.addr(),
            command: "connect",
            source,
        };
        let info = ConnectionAddr::Tcp(member.ip.to_string(), member.port)
            .into_connection_info()
            .map_err(failed)?
            .set_redis_settings(settings);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let conn = redis::Client::open(info)
            .map_err(failed)?
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(failed)?;
        let mut node = Node {
            member: member.clone(),
            id: String::new(),
            conn,
        };
        node.id = node.query("CLUSTER MYID", &["MYID"]).await?;
        Ok(node)
    }

    /// `CLUSTER NODES`: this node's view of the cluster.
    pub async fn view(&mut self) -> Result<View, Error> {
        let text: String = self.query("CLUSTER NODES", &["NODES"]).await?;
        View::parse(&text).map_err(|detail| self.bad_reply("CLUSTER NODES", detail))
    }

    /// `CLUSTER INFO`.
    pub async fn info(&mut self) -> Result<Info, Error> {
        let text: String = self.query("CLUSTER INFO", &["INFO"]).await?;
        Info::parse(&text).map_err(|detail| self.bad_reply("CLUSTER INFO", detail))
    }

    /// `CLUSTER MEET`: introduces this node to `other`; gossip does the rest.
    pub async fn meet(&mut self, other: &Member) -> Result<(), Error> {
        let ip = other.ip.to_string();
        let port = other.port.to_string();
        self.query("CLUSTER MEET", &["MEET", &ip, &port]).await
    }

    /// Makes this node serve `range`: `CLUSTER ADDSLOTSRANGE`, or `ADDSLOTS` in batches
    /// on servers without it.
    pub async fn add_slots(&mut self, range: SlotRange) -> Result<(), Error> {
        let start = range.start.to_string();
        let end = range.end.to_string();
        match self
            .query::<()>("CLUSTER ADDSLOTSRANGE", &["ADDSLOTSRANGE", &start, &end])
            .await
        {
            Err(Error::Redis { source, .. }) if is_unknown_command(&source) => {}
            other => return other,
        }
        let mut first = range.start;
        loop {
            let last = first.saturating_add(ADDSLOTS_BATCH - 1).min(range.end);
            let mut cmd = redis::cmd("CLUSTER");
            cmd.arg("ADDSLOTS")
                .arg((first..=last).collect::<Vec<u16>>());
            self.run::<()>(&cmd, "CLUSTER ADDSLOTS").await?;
            if last == range.end {
                return Ok(());
            }
            first = last + 1;
        }
    }

    /// `CLUSTER REPLICATE`: makes this (empty) node a replica of `master`.
    pub async fn replicate(&mut self, master: &str) -> Result<(), Error> {
        self.query("CLUSTER REPLICATE", &["REPLICATE", master])
            .await
    }

    async fn query<T: redis::FromRedisValue>(
        &mut self,
        name: &'static str,
        args: &[&str],
    ) -> Result<T, Error> {
        let mut cmd = redis::cmd("CLUSTER");
        for arg in args {
            cmd.arg(*arg);
        }
        self.run(&cmd, name).await
    }

    async fn run<T: redis::FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
        name: &'static str,
    ) -> Result<T, Error> {
        cmd.query_async(&mut self.conn)
            .await
            .map_err(|source| Error::Redis {
                pod: self.member.pod.clone(),
                addr: self.member.addr(),
                command: name,
                source,
            })
    }

    fn bad_reply(&self, command: &'static str, detail: String) -> Error {
        Error::Reply {
            pod: self.member.pod.clone(),
            addr: self.member.addr(),
            command,
            detail,
        }
    }
}

/// The server does not know the (sub)command: Redis 6 answers `ERR Unknown subcommand
/// or wrong number of arguments for 'ADDSLOTSRANGE'`, Redis 7 `ERR unknown subcommand`.
fn is_unknown_command(err: &redis::RedisError) -> bool {
    let text = err.to_string().to_ascii_lowercase();
    text.contains("unknown subcommand") || text.contains("unknown command")
}

#[cfg(test)]
mod tests {
    use redis::ErrorKind;

    use super::*;

    #[test]
    fn recognises_unknown_subcommands() {
        let old = redis::RedisError::from((
            ErrorKind::Extension,
            "ERR",
            "Unknown subcommand or wrong number of arguments for 'ADDSLOTSRANGE'. Try CLUSTER HELP."
                .to_owned(),
        ));
        assert!(is_unknown_command(&old));
        let other = redis::RedisError::from((
            ErrorKind::Extension,
            "ERR",
            "Slot 0 is already busy".to_owned(),
        ));
        assert!(!is_unknown_command(&other));
    }
}
