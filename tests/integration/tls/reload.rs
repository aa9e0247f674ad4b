//! A certificate swap on SIGHUP: `exsync serve` as a child over HTTPS, one connection
//! held open with a request half sent across the swap, new connections checked for the
//! new certificate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rustls::pki_types::{CertificateDer, ServerName};

use super::{assert_headers, free_port, generate, install, token, trusting, Pair};
use crate::common::space_body;

/// The child's log lines as they are written, so the test waits for a reload to be done
/// rather than for a while.
struct Lines(mpsc::Receiver<String>);

impl Lines {
    fn follow(child: &mut Child) -> Self {
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self(rx)
    }

    /// Blocks until a line containing `needle` is written (the server is another process).
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.0.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("exsync never logged {needle:?}"),
            }
        }
    }
}

/// `exsync serve` as a child over HTTPS with `cert`/`key` (and, wrongly, a plain-HTTP
/// public URL), ready when `client` (trusting the certificate) gets `/readyz`.
async fn spawn_tls(
    dir: &Path,
    files: (&Path, &Path),
    token: &str,
    client: &reqwest::Client,
) -> (Child, Lines, SocketAddr) {
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_exsync"))
        .arg("serve")
        .env("EXSYNC_BIND", address.to_string())
        .env("EXSYNC_DATA_DIR", dir.join("data"))
        .env("EXSYNC_ADMIN_TOKEN", token)
        .env("EXSYNC_TLS_CERT", files.0)
        .env("EXSYNC_TLS_KEY", files.1)
        .env("EXSYNC_PUBLIC_URL", "http://exsync.example.com")
        .env("EXSYNC_LOG", "info")
        .env("EXSYNC_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("exsync starts");
    let lines = Lines::follow(&mut child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client
            .get(format!("https://localhost:{}/readyz", address.port()))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return (child, lines, address);
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("exsync never got ready over HTTPS");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A blocking HTTP/1.1 connection over rustls trusting `pair` alone, so the test holds
/// one connection across the swap and sees which certificate it was served.
fn connect(
    address: SocketAddr,
    pair: &Pair,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(pair.der.clone())).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connection =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let socket = std::net::TcpStream::connect(address).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    rustls::StreamOwned::new(connection, socket)
}

/// Reads one answer (head and `Content-Length` body): its status line and head.
fn read_answer(stream: &mut impl Read) -> (String, String) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]).into_owned();
                return (head, body);
            }
        }
        let read = stream.read(&mut chunk).expect("answer read");
        assert!(
            read > 0,
            "connection closed mid-answer: {}",
            String::from_utf8_lossy(&buffer)
        );
        buffer.extend_from_slice(&chunk[..read]);
    }
}

#[actix_web::test]
async fn a_new_certificate_on_sighup_reaches_new_connections_while_a_request_in_flight_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (generate(), generate());
    let (cert, key) = install(dir.path(), &old, &old);
    let token = token();
    let (mut child, lines, address) =
        spawn_tls(dir.path(), (&cert, &key), &token, &trusting(&old)).await;
    let warning = lines.wait_for("EXSYNC_PUBLIC_URL is http://");
    assert!(warning.contains("WARN"), "{warning}");

    // A request in flight over a connection made with the old certificate: the head and
    // half the body are sent, the rest only after the swap.
    let mut held = connect(address, &old);
    let body = serde_json::to_vec(&space_body("acme")).unwrap();
    let head = format!(
        "POST /api/v1/spaces HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    held.write_all(head.as_bytes()).unwrap();
    held.write_all(&body[..body.len() / 2]).unwrap();
    held.flush().unwrap();
    let served = held.conn.peer_certificates().expect("handshake done")[0].to_vec();
    assert_eq!(served, old.der);

    // A half-written pair is refused and the old certificate stays; then the new pair.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\n").unwrap();
    hangup(&child);
    let warning = lines.wait_for("the TLS certificate was not reloaded");
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("no END line"), "{warning}");
    let still = trusting(&old)
        .get(format!("https://localhost:{}/healthz", address.port()))
        .send()
        .await;
    assert!(
        still.is_ok_and(|r| r.status().is_success()),
        "a failed reload keeps the old certificate"
    );
    install(dir.path(), &new, &new);
    hangup(&child);
    lines.wait_for("reloaded the TLS certificate");
    let fresh = trusting(&new)
        .get(format!("https://localhost:{}/healthz", address.port()))
        .send()
        .await
        .expect("a new connection gets the new certificate");
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_headers(&fresh, true);
    assert!(
        trusting(&old)
            .get(format!("https://localhost:{}/healthz", address.port()))
            .send()
            .await
            .is_err(),
        "new connections no longer get the old certificate"
    );

    // The held request completes, and its connection keeps serving.
    held.write_all(&body[body.len() / 2..]).unwrap();
    held.flush().unwrap();
    let (head, answer) = read_answer(&mut held);
    assert!(head.starts_with("HTTP/1.1 201"), "{head}\n{answer}");
    assert!(
        head.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{head}"
    );
    held.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    held.flush().unwrap();
    let (head, _) = read_answer(&mut held);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        held.conn.peer_certificates().unwrap()[0].as_ref(),
        &old.der[..]
    );

    let _ = child.kill();
    child.wait().unwrap();
}

fn hangup(child: &Child) {
    let status = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}
