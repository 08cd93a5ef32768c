//! A smart-HTTP git server on loopback: `git http-backend` (the CGI program real
//! servers run) behind a minimal HTTP/1.1 front end that logs every request and can
//! require a token with Basic authentication, like GitHub does.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One request the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path and query, e.g. `/remote.git/info/refs?service=git-upload-pack`.
    pub target: String,
    pub status: u16,
    /// The authenticated user name, when a token was required and accepted.
    pub user: Option<String>,
    /// Which TCP connection (numbered from 0 in accept order) carried the request.
    pub connection: usize,
}

struct State {
    root: PathBuf,
    token: Option<String>,
    log: Mutex<Vec<Request>>,
    connections: AtomicUsize,
}

pub struct GitHttpServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GitHttpServer {
    /// Serves the repositories under `root`; with `token`, every request must carry
    /// Basic credentials whose password is the token.
    pub fn start(root: &Path, token: Option<&str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            root: root.to_owned(),
            token: token.map(str::to_owned),
            log: Mutex::default(),
            connections: AtomicUsize::new(0),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = state.clone();
                    let connection = state.connections.fetch_add(1, Ordering::SeqCst);
                    thread::spawn(move || {
                        if let Err(error) = serve(&state, stream, connection) {
                            eprintln!("test http server: {error}");
                        }
                    });
                }
            })
        };
        Self {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, repo: &str) -> String {
        format!("http://{}/{repo}", self.addr)
    }

    pub fn url_with_user(&self, user: &str, repo: &str) -> String {
        format!("http://{user}@{}/{repo}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn take_requests(&self) -> Vec<Request> {
        std::mem::take(&mut self.state.log.lock().unwrap())
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(state: &State, stream: TcpStream, connection: usize) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return Ok(());
        };
        let (method, target) = (method.to_owned(), target.to_owned());
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let body = read_body(&mut reader, &headers)?;
        let keep_alive = !headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));

        let (status, response_headers, response_body, user) = match authenticate(state, &headers) {
            Err(()) => (
                401,
                vec![(
                    "WWW-Authenticate".to_owned(),
                    "Basic realm=\"git\"".to_owned(),
                )],
                Vec::new(),
                None,
            ),
            Ok(user) => {
                let (status, headers, body) =
                    http_backend(state, &method, &target, &headers, &body, user.as_deref())?;
                (status, headers, body, user)
            }
        };
        state.log.lock().unwrap().push(Request {
            method,
            target,
            status,
            user,
            connection,
        });
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in &response_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n", response_body.len()));
        if !keep_alive {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        // One write: a separate write for the body would wait for the client's
        // delayed ACK (Nagle), adding ~40 ms per request.
        let mut response = head.into_bytes();
        response.extend_from_slice(&response_body);
        writer.write_all(&response)?;
        writer.flush()?;
        if !keep_alive {
            return Ok(());
        }
    }
}

fn read_body(
    reader: &mut BufReader<TcpStream>,
    headers: &HashMap<String, String>,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16)
                .map_err(std::io::Error::other)?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length") {
        let length: usize = length.parse().map_err(std::io::Error::other)?;
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(body)
}

/// `Ok(user)` when no token is required or the Basic password is the token.
fn authenticate(state: &State, headers: &HashMap<String, String>) -> Result<Option<String>, ()> {
    let Some(token) = &state.token else {
        return Ok(None);
    };
    let encoded = headers
        .get("authorization")
        .and_then(|value| value.strip_prefix("Basic "))
        .ok_or(())?;
    let decoded = STANDARD.decode(encoded).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    match decoded.split_once(':') {
        Some((user, password)) if password == token => Ok(Some(user.to_owned())),
        _ => Err(()),
    }
}

type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// Runs `git http-backend` as a CGI program for one request.
fn http_backend(
    state: &State,
    method: &str,
    target: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
    user: Option<&str>,
) -> std::io::Result<Response> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &state.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REMOTE_USER", user.unwrap_or(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (header, variable) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
    ] {
        if let Some(value) = headers.get(header) {
            command.env(variable, value);
        }
    }
    let mut child = command.spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let body = body.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut output = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut output)?;
    child.wait()?;
    let _ = writer.join();

    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            output
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .unwrap_or((output.len(), output.len()));
    let head = String::from_utf8_lossy(&output[..split.0]).into_owned();
    let mut status = 200;
    let mut response_headers = Vec::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(500);
        } else if !name.eq_ignore_ascii_case("content-length") {
            response_headers.push((name.to_owned(), value.to_owned()));
        }
    }
    Ok((status, response_headers, output[split.1..].to_vec()))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Status",
    }
}
