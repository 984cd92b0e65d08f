//! `COFFER_LOG` and `-v`: AWS calls are logged to stderr with account, Region, operation,
//! duration and retries, and credentials never are.
//!
//! The AWS side is a small HTTP server on 127.0.0.1 that refuses every call with STS's
//! `AccessDenied` (HTTP 403, not retried), so a command fails fast after its first calls;
//! it records the requests, which proves the secrets were in play.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;

const SECRET_KEY: &str = "cofferTestSecret/Q9xLw2Vb7Hk3Jd8Rf5Tn1Pm6Zs4Yc0Ua";
const SESSION_TOKEN: &str = "cofferTestSessionToken+Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56==";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Answers every request with STS `AccessDenied` until the test ends; returns its URL and the
/// requests it received (headers and body, as text).
fn refusing_endpoint() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        // Bounded: a command under test makes a handful of calls.
        for stream in listener.incoming().take(500) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(value) = line
                    .to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_string())
                {
                    length = value.parse().unwrap_or(0);
                }
                request.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            request.push_str(&String::from_utf8_lossy(&body));
            record.lock().expect("lock").push(request);
            let xml = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>refused by the test endpoint</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>";
            let response = format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nx-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (url, seen)
}

/// `coffer plan` of the seed against `url` with base credentials that include a session
/// token, nothing from the user's AWS configuration, and `env` added.
fn plan(url: &str, extra_args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coffer"));
    cmd.current_dir(root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "AKIACOFFERTESTKEY000")
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/coffer-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/coffer-test/credentials",
        )
        .args([
            "plan",
            "-f",
            "examples/seed/topology.yaml",
            "--endpoint-url",
            url,
        ])
        .args(extra_args)
        .timeout(Duration::from_secs(120));
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.output().expect("coffer runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn call_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("aws call")).collect()
}

fn assert_no_secrets(stderr: &str) {
    for secret in [SECRET_KEY, SESSION_TOKEN] {
        assert!(
            !stderr.contains(secret),
            "a credential reached the log:\n{stderr}"
        );
    }
    // Not even a piece of them.
    for piece in ["cofferTestSecret", "cofferTestSessionToken", "Q9xLw2Vb7Hk3"] {
        assert!(!stderr.contains(piece), "`{piece}` in the log:\n{stderr}");
    }
}

#[test]
fn coffer_log_debug_logs_every_call_and_never_credentials() {
    let (url, seen) = refusing_endpoint();
    let (code, stderr) = plan(&url, &[], &[("COFFER_LOG", "debug")]);
    assert_eq!(code, 1, "every call is refused:\n{stderr}");

    let requests = seen.lock().expect("lock").join("\n");
    assert!(
        requests.contains(SESSION_TOKEN),
        "the session token was sent to the endpoint (so its absence from the log means something):\n{requests}"
    );

    let lines = call_lines(&stderr);
    assert!(!lines.is_empty(), "no AWS call was logged:\n{stderr}");
    for id in ["100200300400", "111222333444", "666777888999"] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("account={id}")) && l.contains("operation=sts:")),
            "no STS call of account {id} in:\n{stderr}"
        );
    }
    for line in &lines {
        assert!(line.contains("DEBUG"), "{line}");
        assert!(line.contains("region=eu-west-1"), "{line}");
        assert!(line.contains("duration_ms="), "{line}");
        assert!(line.contains("outcome=error"), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("operation=sts:AssumeRole") && l.contains("outcome=error")),
        "{stderr}"
    );
    assert_no_secrets(&stderr);
}

#[test]
fn dash_vv_is_debug_and_no_flag_logs_nothing() {
    let (url, _seen) = refusing_endpoint();
    let (code, stderr) = plan(&url, &["-vv"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!call_lines(&stderr).is_empty(), "{stderr}");
    assert_no_secrets(&stderr);

    let (code, stderr) = plan(&url, &["-v"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(call_lines(&stderr).is_empty(), "-v is info: {stderr}");

    let (code, stderr) = plan(&url, &[], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        call_lines(&stderr).is_empty(),
        "logging is off by default: {stderr}"
    );
    assert!(
        !stderr.contains("DEBUG") && !stderr.contains(" INFO "),
        "{stderr}"
    );
}

#[test]
fn a_bad_filter_is_reported_and_logging_stays_off() {
    let (url, _seen) = refusing_endpoint();
    let (code, stderr) = plan(&url, &[], &[("COFFER_LOG", "coffer_aws=loud")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("COFFER_LOG"), "{stderr}");
    assert!(call_lines(&stderr).is_empty(), "{stderr}");
}
