//! The reference host's pooled sender: a connection is reused for the next request
//! to the same authority, and never for a request to another one; over TLS a
//! certificate is checked against the roots the sender trusts (`openssl s_server`
//! as the server).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use artifact_registry_component_host::pooled::PooledSender;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};

/// A keep-alive HTTP/1.1 server answering every request with its own port; counts
/// the connections it accepted.
fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let (count, port) = (accepted.clone(), listener.local_addr().unwrap().port().to_string());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let port = port.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{port}", port.len());
                    if writer.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (authority, accepted)
}

async fn get(sender: &Arc<PooledSender>, authority: &str) -> String {
    let body = Full::new(Bytes::from_static(b"{}")).map_err(|never| match never {}).boxed_unsync();
    let request = http::Request::post(format!("http://{authority}/")).body(body).unwrap();
    let (response, io) = Box::into_pin(sender.clone().send(request, None)).await.expect("an answer");
    let text = response.into_body().collect().await.expect("the body").to_bytes();
    Box::into_pin(io).await.unwrap();
    String::from_utf8(text.to_vec()).unwrap()
}

#[tokio::test]
async fn connections_are_reused_per_authority_only() {
    let sender = Arc::new(PooledSender::new());
    let (a, accepted_a) = counting_server();
    let (b, accepted_b) = counting_server();
    for _ in 0..5 {
        assert_eq!(get(&sender, &a).await, a.rsplit(':').next().unwrap());
        assert_eq!(get(&sender, &b).await, b.rsplit(':').next().unwrap());
    }
    // Ten requests, one connection to each server: each answer came from the server
    // asked (its port), so no request travelled on the other's connection.
    assert_eq!((accepted_a.load(Ordering::SeqCst), accepted_b.load(Ordering::SeqCst)), (1, 1));
}

#[tokio::test]
async fn a_refused_connection_keeps_its_error_code() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let body = Full::new(Bytes::new()).map_err(|never| match never {}).boxed_unsync();
    let request = http::Request::get(format!("http://127.0.0.1:{port}/")).body(body).unwrap();
    let outcome = Box::into_pin(Arc::new(PooledSender::new()).send(request, None)).await;
    assert!(matches!(outcome, Err(wasmtime_wasi_http::Error::ConnectionRefused)), "{:?}", outcome.err());
}

/// `openssl s_server` on a free port with a fresh self-signed certificate for
/// `localhost`; the certificate, the port, and the server (kill it when done).
fn tls_server(dir: &std::path::Path) -> (rustls::pki_types::CertificateDer<'static>, u16, std::process::Child) {
    use rustls::pki_types::pem::PemObject;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &port.to_string(), "-naccept", "8"])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (rustls::pki_types::CertificateDer::from_pem_file(&cert).unwrap(), port, server)
}

#[tokio::test]
async fn tls_is_checked_against_the_roots_the_sender_trusts() {
    let dir = std::env::temp_dir().join(format!("pooled-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, port, mut server) = tls_server(&dir);
    let get = |sender: Arc<PooledSender>| async move {
        let body = Full::new(Bytes::new()).map_err(|never| match never {}).boxed_unsync();
        let request = http::Request::get(format!("https://localhost:{port}/")).body(body).unwrap();
        Box::into_pin(sender.send(request, None)).await.map(|(response, _)| response.status())
    };
    // The default roots (webpki's) do not include a self-signed certificate.
    let refused = get(Arc::new(PooledSender::new())).await;
    // Trusting it, the same server answers.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let trusted = get(Arc::new(PooledSender::with_roots(roots, std::time::Duration::from_secs(5)))).await;
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(matches!(refused, Err(wasmtime_wasi_http::Error::TlsCertificateError)), "{refused:?}");
    assert_eq!(trusted.expect("the trusted server answers"), http::StatusCode::OK);
}
