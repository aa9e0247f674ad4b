//! HTTPS: exsync over real TLS with certificates generated here (rcgen), the security
//! headers with and without TLS, start-up refusing unusable certificate files, and
//! ([`reload`]) a certificate swap on SIGHUP while a request is in flight.

mod reload;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use exsync::app::{run, AppError};
use exsync::config::Config;
use figment::providers::Serialized;
use reqwest::StatusCode;

use crate::common::TestServer;

/// A generated certificate for `localhost` and `127.0.0.1`, with its key.
struct Pair {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

fn generate() -> Pair {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate generated");
    Pair {
        cert_pem: generated.cert.pem(),
        key_pem: generated.signing_key.serialize_pem(),
        der: generated.cert.der().to_vec(),
    }
}

/// Writes the certificate and key files exsync reads (replacing earlier ones).
fn install(dir: &Path, cert: &Pair, key: &Pair) -> (PathBuf, PathBuf) {
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert.cert_pem).unwrap();
    std::fs::write(&key_path, &key.key_pem).unwrap();
    (cert_path, key_path)
}

/// A client that trusts `pair` alone and keeps no idle connection, so each request makes
/// a new one and sees the certificate served now.
fn trusting(pair: &Pair) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .pool_max_idle_per_host(0)
        .add_root_certificate(reqwest::Certificate::from_pem(pair.cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

fn token() -> String {
    format!("tls-test-token-{:032x}", rand::random::<u128>())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// A configuration for `listener` through the same layers `serve` uses.
fn config(listener: &TcpListener, data_dir: &Path, files: Option<(&Path, &Path)>) -> Config {
    let mut figment = Config::figment(None)
        .merge(Serialized::default(
            "bind",
            listener.local_addr().unwrap().to_string(),
        ))
        .merge(Serialized::default("data_dir", data_dir))
        .merge(Serialized::default("admin_token", token()))
        .merge(Serialized::default("workers", 1));
    if let Some((cert, key)) = files {
        figment = figment
            .merge(Serialized::default("tls_cert", cert))
            .merge(Serialized::default("tls_key", key));
    }
    Config::from_figment(figment).expect("valid configuration")
}

fn assert_headers(response: &reqwest::Response, hsts: bool) {
    let headers = response.headers();
    assert_eq!(
        headers.get("x-content-type-options").map(|v| v.as_bytes()),
        Some(&b"nosniff"[..]),
        "{} {}",
        response.status(),
        response.url()
    );
    let expected = hsts.then_some(&b"max-age=31536000"[..]);
    assert_eq!(
        headers
            .get("strict-transport-security")
            .map(|v| v.as_bytes()),
        expected,
        "{} {}",
        response.status(),
        response.url()
    );
}

/// `/healthz`, an admin call without a token (an error raised by middleware), an unknown
/// path, and Graph's validation handshake, each checked for the headers.
async fn check_answers(client: &reqwest::Client, base: &str, hsts: bool) {
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_headers(&health, hsts);
    let denied = client
        .get(format!("{base}/api/v1/spaces"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert_headers(&denied, hsts);
    let missing = client.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_headers(&missing, hsts);
    let echo = client
        .post(format!(
            "{base}/webhooks/graph?validationToken=%3Chtml%3Ehi%3C%2Fhtml%3E"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(echo.status(), StatusCode::OK);
    assert_headers(&echo, hsts);
    assert_eq!(echo.text().await.unwrap(), "<html>hi</html>");
}

#[actix_web::test]
async fn https_answers_carry_hsts_and_nosniff() {
    crate::common::logs::install();
    let dir = tempfile::tempdir().unwrap();
    let pair = generate();
    let (cert, key) = install(dir.path(), &pair, &pair);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let config = config(&listener, &dir.path().join("data"), Some((&cert, &key)));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = actix_web::rt::spawn(run(config, listener, async move {
        let _ = stopped.await;
    }));
    let base = format!("https://localhost:{}", address.port());
    let client = trusting(&pair);
    check_answers(&client, &base, true).await;
    // The IP address is in the certificate too; a client trusting another certificate
    // and plain HTTP on the same port get nowhere.
    let by_ip = client
        .get(format!("https://127.0.0.1:{}/healthz", address.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(by_ip.status(), StatusCode::OK);
    assert_headers(&by_ip, true);
    assert_eq!(by_ip.text().await.unwrap(), r#"{"status":"ok"}"#);
    let stranger = trusting(&generate());
    assert!(stranger
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_err());
    let plain = reqwest::Client::new()
        .get(format!("http://{address}/healthz"))
        .send()
        .await;
    assert!(plain.map_or(true, |r| !r.status().is_success()));
    stop.send(()).unwrap();
    let stopping = Instant::now();
    server.await.unwrap().expect("stops cleanly");
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "finished connections do not hold up the stop"
    );
}

#[actix_web::test]
async fn plain_http_answers_carry_nosniff_and_no_hsts() {
    let server = TestServer::start().await;
    check_answers(&reqwest::Client::new(), &server.base, false).await;
    server.stop().await;
}

#[actix_web::test]
async fn unusable_certificate_files_fail_start_up_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (pair, other) = (generate(), generate());
    let start = |cert: PathBuf, key: PathBuf| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let config = config(&listener, &dir.path().join("data"), Some((&cert, &key)));
        run(config, listener, std::future::pending())
    };
    let (cert, key) = install(dir.path(), &pair, &pair);
    let absent = dir.path().join("absent.pem");
    let err = start(absent.clone(), key.clone()).await.unwrap_err();
    assert!(matches!(err, AppError::Tls(_)), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("cannot read the TLS certificate file"),
        "{message}"
    );
    assert!(message.contains(&absent.display().to_string()), "{message}");

    // The key swapped in as the certificate, and a file with no key in it.
    let message = start(key.clone(), key.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("contains no PEM certificate"), "{message}");
    let message = start(cert.clone(), cert.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(message.contains("no usable PEM private key"), "{message}");
    assert!(message.contains(&cert.display().to_string()), "{message}");

    // One of the two alone is a configuration error, before anything is read.
    let one =
        Config::from_figment(Config::figment(None).merge(Serialized::default("tls_cert", &cert)))
            .unwrap_err()
            .to_string();
    assert!(one.contains("EXSYNC_TLS_KEY"), "{one}");

    // A key that is not the certificate's, through the binary as an operator meets it.
    let (cert, key) = install(dir.path(), &pair, &other);
    let output = Command::new(env!("CARGO_BIN_EXE_exsync"))
        .arg("serve")
        .env("EXSYNC_BIND", format!("127.0.0.1:{}", free_port()))
        .env("EXSYNC_DATA_DIR", dir.path().join("data"))
        .env("EXSYNC_ADMIN_TOKEN", token())
        .env("EXSYNC_TLS_CERT", &cert)
        .env("EXSYNC_TLS_KEY", &key)
        .output()
        .expect("exsync runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the TLS private key {} does not belong to the certificate {}",
            key.display(),
            cert.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("PRIVATE KEY"), "no key material: {stderr}");
    let key_body: String = other.key_pem.lines().nth(1).unwrap().to_owned();
    assert!(!stderr.contains(&key_body), "no key material: {stderr}");
}
