//! A server that accepts the connection and then says nothing: with timeouts set, the
//! sync fails in time with a transient error. (Its own test binary: the timeouts are
//! process-wide.)

mod support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use strata_agent_source::{Credentials, Error, Source, SourceConfig};

#[test]
fn a_silent_server_times_out_transiently() {
    // SAFETY: the only test in this binary; nothing else uses libgit2 yet.
    unsafe {
        strata_agent_source::set_network_timeouts(
            Duration::from_secs(2),
            Duration::from_millis(300),
        )
        .unwrap();
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = std::thread::spawn(move || {
        // Accept and hold connections open without answering.
        let mut held = Vec::new();
        for stream in listener.incoming().take(2) {
            held.push(stream);
            std::thread::sleep(Duration::from_secs(3));
        }
    });

    let cache = tempfile::tempdir().unwrap();
    let mut source = Source::new(SourceConfig {
        url: format!("http://{addr}/remote.git"),
        reference: "main".parse().unwrap(),
        credentials: Credentials::None,
        cache_dir: cache.path().to_owned(),
    })
    .unwrap();
    let started = Instant::now();
    let error = source.sync().unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.is_transient(), "{}", support::chain(&error));
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(source.last_good(), None);
    drop(holder);
}
