//! `strata-agent status` run as a user runs it, against an address where no agent
//! listens: the exit status says "cannot reach" (2), and the message names the URL.

use std::process::Command;

fn status(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_strata-agent"))
        .arg("status")
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("STRATA_AGENT_URL")
        .output()
        .expect("the binary runs");
    (
        output.status.code().expect("exited, not killed"),
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

#[test]
fn unreachable_agent_exits_2_naming_the_url() {
    // Port 1 (tcpmux) is privileged and unused: the connection is refused at once.
    let url = "http://127.0.0.1:1";
    let (code, stdout, stderr) = status(&["--url", url]);
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!("cannot reach the agent at {url}")),
        "{stderr}"
    );

    let (code, _, stderr) = status(&["--url", url, "--json"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn the_url_can_come_from_the_environment() {
    let url = "http://127.0.0.1:1/agent";
    let output = Command::new(env!("CARGO_BIN_EXE_strata-agent"))
        .arg("status")
        .env("STRATA_AGENT_URL", url)
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(url), "{stderr}");
}

#[test]
fn https_is_refused_as_a_usage_error() {
    let (code, _, stderr) = status(&["--url", "https://agent.example:8443"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("expected http://HOST[:PORT]"), "{stderr}");
}
