//! `redis-server` processes in cluster mode. Server N (0-based) listens on 127.0.0.(N+2)
//! and announces that address, as a pod announces its IP; all share one port. They are
//! killed, and their directory removed, on drop.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use strata_agent_operate::redis_cluster::nodes::{Info, View};
use strata_agent_operate::redis_cluster::{Member, Password};

const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// The most servers a test starts.
const MAX_SERVERS: u8 = 8;
/// The addresses a test may use: its servers', and as many again to move them to.
const ADDRESSES: u32 = 2 * MAX_SERVERS as u32;

/// One running server.
pub struct Server {
    pub ordinal: u32,
    pub ip: IpAddr,
    pub port: u16,
    password: Option<String>,
    child: Child,
}

impl Server {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// The server as the pod `cache-<ordinal>` of a cluster member list.
    pub fn member(&self) -> Member {
        Member {
            ordinal: self.ordinal,
            pod: format!("{}-{}", super::NAME, self.ordinal),
            ip: self.ip,
            port: self.port,
        }
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let mut url = format!("redis://{}/", self.addr());
        if let Some(password) = &self.password {
            url = format!("redis://:{password}@{}/", self.addr());
        }
        redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.addr()))
    }

    /// Runs one command, e.g. `["CLUSTER", "INFO"]`.
    pub async fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut self.connection().await)
            .await
            .unwrap_or_else(|e| panic!("{args:?} on {}: {e}", self.addr()))
    }

    pub async fn info(&self) -> Info {
        Info::parse(&self.cmd::<String>(&["CLUSTER", "INFO"]).await).unwrap()
    }

    pub async fn view(&self) -> View {
        View::parse(&self.cmd::<String>(&["CLUSTER", "NODES"]).await).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Servers on one port, in a directory of their own.
pub struct Fleet {
    pub port: u16,
    pub password: Option<String>,
    pub servers: Vec<Server>,
    dir: PathBuf,
}

impl Fleet {
    /// Starts `count` servers (ordinals 0..count) and waits until each answers.
    pub fn start(count: u32, password: Option<&str>) -> Fleet {
        assert!(
            std::path::Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} is needed by these tests"
        );
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("strata-operate-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut fleet = Fleet {
            port,
            password: password.map(str::to_owned),
            servers: Vec::new(),
            dir,
        };
        for _ in 0..count {
            fleet.add();
        }
        fleet
    }

    pub fn members(&self) -> Vec<Member> {
        self.servers.iter().map(Server::member).collect()
    }

    pub fn password(&self) -> Option<Password> {
        self.password.as_deref().map(Password::new)
    }

    /// Starts the next server (ordinal = the number running) and returns it.
    pub fn add(&mut self) -> &Server {
        let ordinal = self.servers.len() as u32;
        assert!(ordinal < u32::from(MAX_SERVERS), "too many servers");
        let server = self.spawn(ordinal, address(ordinal));
        self.servers.push(server);
        self.servers.last().unwrap()
    }

    /// Stops every server and starts it again `shift` addresses further on, with its
    /// `nodes.conf`: pods rescheduled with new IPs but their volumes.
    pub fn move_all(&mut self, shift: u32) {
        let ordinals: Vec<u32> = self.servers.iter().map(|s| s.ordinal).collect();
        self.servers.clear();
        for ordinal in ordinals {
            let server = self.spawn(ordinal, address(ordinal + shift));
            self.servers.push(server);
        }
    }

    fn spawn(&self, ordinal: u32, ip: IpAddr) -> Server {
        let n = ordinal.to_string();
        let mut command = Command::new(REDIS_SERVER);
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", &ip.to_string()])
            // Like the pods (start.sh): announce the address the others must use.
            .args(["--cluster-announce-ip", &ip.to_string()])
            .args(["--cluster-enabled", "yes"])
            .args(["--cluster-config-file", &format!("nodes-{n}.conf")])
            // Shorter than the pods' 15 s: a master waits up to this long (at most
            // 5 s) before declaring a new cluster ok, and the tests wait for that.
            .args(["--cluster-node-timeout", "2000"])
            .args(["--daemonize", "no", "--save", "", "--appendonly", "no"])
            .args(["--dir", self.dir.to_str().unwrap()])
            .args(["--logfile", &format!("redis-{n}.log")]);
        if let Some(password) = &self.password {
            command.args(["--requirepass", password, "--masterauth", password]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {REDIS_SERVER}: {e}"));
        let mut server = Server {
            ordinal,
            ip,
            port: self.port,
            password: self.password.clone(),
            child,
        };
        wait_listening(&mut server, &self.dir);
        server
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.servers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn address(ordinal: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + ordinal as u8))
}

/// A port free, with its cluster bus port (+10000), on every test address. Tests in
/// one binary run in parallel, so each takes the next candidate.
fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 17000 + (std::process::id() % 400) as u16 * 20;
    for _ in 0..200 {
        let port = 17000 + (base - 17000 + NEXT.fetch_add(1, Ordering::Relaxed)) % 8000;
        let free = (0..ADDRESSES).all(|i| {
            let ip = address(i);
            TcpListener::bind((ip, port)).is_ok() && TcpListener::bind((ip, port + 10000)).is_ok()
        });
        if free {
            return port;
        }
    }
    panic!("no free port for the test servers");
}

/// Waits until the server accepts connections; its log is shown if it dies.
fn wait_listening(server: &mut Server, dir: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if std::net::TcpStream::connect((server.ip, server.port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            let log = std::fs::read_to_string(dir.join(format!("redis-{}.log", server.ordinal)))
                .unwrap_or_default();
            panic!("redis-server {} exited ({status}):\n{log}", server.addr());
        }
        assert!(
            Instant::now() < deadline,
            "redis-server {} did not listen within 10 s",
            server.addr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
