//! The upgrade load the server benches share: a client that asks to switch to `tcp` and
//! checks the `101`, and the handshake load (fresh connections, upgrade + a 1-byte echo).
//!
//! It measures nothing itself: the benches time what it runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::head::read_head;
use super::run::bounded;

/// The request every client sends: `GET /` asking to switch to `tcp`.
pub fn request(addr: SocketAddr) -> Arc<[u8]> {
    format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        .into_bytes()
        .into()
}

/// Connect, ask to switch to `tcp`, and check that the answer is a `101` with nothing after it
/// (the servers send nothing before the client does).
pub async fn upgrade(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.write_all(request).await.expect("request");
    let (head, rest) = read_head(&mut s).await.expect("101");
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "not a 101: {}",
        String::from_utf8_lossy(&head)
    );
    assert!(rest.is_empty(), "bytes after the 101 before any were sent");
    s
}

/// `total` handshakes, `conc` at a time, each on a fresh connection; how long they took.
pub async fn handshakes(addr: SocketAddr, total: usize, conc: usize) -> Duration {
    let request = request(addr);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..conc {
        let (next, request) = (Arc::clone(&next), Arc::clone(&request));
        tasks.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let mut s = upgrade(addr, &request).await;
                s.write_all(b"x").await.expect("byte");
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await.expect("echo");
                assert_eq!(&b, b"x");
            }
        });
    }
    bounded("handshakes", async {
        while let Some(done) = tasks.join_next().await {
            done.expect("a client failed");
        }
    })
    .await;
    started.elapsed()
}
