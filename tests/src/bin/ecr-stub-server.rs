//! A fast stand-in for the ECR API, for benchmarks and concurrency tests: it answers
//! `DescribeRepositories`, `CreateRepository` and `GetAuthorizationToken` with
//! ECR-shaped JSON (no signature checks), on keep-alive HTTP/1.1 connections, so the
//! client's own cost dominates what is measured.
//!
//! `ecr-stub-server [--delay-ms N]` prints `{"port": P}` on one line, then serves
//! until its stdin closes. `--delay-ms` holds each answer that long (to show
//! concurrency). The target `StubStats` answers `{"maxInFlight", "requests"}`: how
//! many requests it held at once at most, and how many it answered, so tests can
//! show overlap without timing anything.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MAX_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static REQUESTS: AtomicUsize = AtomicUsize::new(0);

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};

fn answer(target: &str, body: &str) -> String {
    let name = body
        .split("\"repositoryName\":\"")
        .nth(1)
        .or_else(|| body.split("\"repositoryNames\":[\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("acme-app");
    let repository = format!(
        r#"{{"repositoryArn":"arn:aws:ecr:us-east-1:123456789012:repository/{name}","registryId":"123456789012","repositoryName":"{name}","repositoryUri":"123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}","createdAt":1795849200.0}}"#
    );
    match target.rsplit('.').next().unwrap_or("") {
        "DescribeRepositories" => format!(r#"{{"repositories":[{repository}]}}"#),
        "CreateRepository" => format!(r#"{{"repository":{repository}}}"#),
        // base64("AWS:stub-password")
        "StubStats" => format!(
            r#"{{"maxInFlight":{},"requests":{}}}"#,
            MAX_IN_FLIGHT.load(Ordering::SeqCst),
            REQUESTS.load(Ordering::SeqCst)
        ),
        "GetAuthorizationToken" => r#"{"authorizationData":[{"authorizationToken":"QVdTOnN0dWItcGFzc3dvcmQ=","expiresAt":1795892400.0,"proxyEndpoint":"https://123456789012.dkr.ecr.us-east-1.amazonaws.com"}]}"#.to_owned(),
        _ => String::new(),
    }
}

async fn serve(stream: TcpStream, delay: Duration) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut target = String::new();
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            reader.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    "x-amz-target" => target = v.trim().to_owned(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let stats = target.ends_with("StubStats");
        if !stats {
            let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
            MAX_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
            REQUESTS.fetch_add(1, Ordering::SeqCst);
        }
        let payload = answer(&target, &String::from_utf8_lossy(&body));
        let (status, payload) = if payload.is_empty() {
            ("400 Bad Request", r#"{"__type":"UnknownOperationException","message":"not stubbed"}"#.to_owned())
        } else {
            ("200 OK", payload)
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nx-amzn-RequestId: stub\r\n\r\n{payload}",
            payload.len()
        );
        write.write_all(response.as_bytes()).await?;
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let delay = args
        .iter()
        .position(|a| a == "--delay-ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default();
    // The load tests open 1,000 connections at once: with the default backlog (128)
    // the accept queue overflows, the kernel drops handshakes, and those connections
    // stall until the client retransmits, a second later.
    let socket = TcpSocket::new_v4()?;
    socket.bind(([127, 0, 0, 1], 0).into())?;
    let listener = socket.listen(4096)?;
    println!("{{\"port\": {}}}", listener.local_addr()?.port());
    tokio::spawn(async move {
        loop {
            if let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, delay));
            }
        }
    });
    // Serve until whoever started us closes our stdin.
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    Ok(())
}
