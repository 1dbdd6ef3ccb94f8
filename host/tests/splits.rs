//! Property tests through the real component: random valid heads, random binary tails (with
//! `\r\n\r\n` and NUL in them), written by a native peer in random read-split schedules (1 byte
//! to 64 KiB). On both sides the head must parse the same and the tail must come back exactly:
//! `buffered` first, then the stream, nothing lost, nothing repeated.
//!
//! A quick run in the normal tests; a long one with `PROPTEST_CASES=100000 cargo test --test
//! splits --release` (see the README). Every wait is bounded.

use crate::support;

use hijack_host::{ClientRequest, Header, Limits, NetPolicy};
use proptest::prelude::*;
use std::net::SocketAddr;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,15}"
}

fn field_value() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,30}[!-~])?"
}

/// Extra fields that never collide with the framing ones.
fn fields() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (token(), field_value()).prop_map(|(n, v)| (format!("X-{n}"), v)),
        0..8,
    )
}

/// Binary tails with terminators and NULs much more likely than chance.
fn tail() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<u8>().prop_map(|b| vec![b]),
            1 => Just(b"\r\n\r\n".to_vec()),
            1 => Just(vec![0u8]),
            1 => Just(b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec()),
        ],
        0..64,
    )
    .prop_map(|parts| parts.concat())
}

/// How the peer cuts what it writes: chunk sizes from 1 byte to 64 KiB.
fn schedule() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(
        prop_oneof![4 => 1usize..8, 2 => 8usize..512, 1 => 512usize..=65536],
        1..24,
    )
}

/// Write `bytes` in the chunks `schedule` gives (cycled), each pushed out on its own.
async fn write_split(s: &mut TcpStream, bytes: &[u8], schedule: &[usize]) -> std::io::Result<()> {
    s.set_nodelay(true)?;
    let mut at = 0;
    for size in schedule.iter().cycle() {
        if at >= bytes.len() {
            break;
        }
        let end = (at + size).min(bytes.len());
        s.write_all(&bytes[at..end]).await?;
        s.flush().await?;
        tokio::task::yield_now().await;
        at = end;
    }
    Ok(())
}

/// The fields after the first `framing` ones, as text.
fn extra_fields(headers: &[Header], framing: usize) -> Vec<(String, String)> {
    headers
        .iter()
        .skip(framing)
        .map(|h| {
            (
                h.name.clone(),
                String::from_utf8_lossy(&h.value).into_owned(),
            )
        })
        .collect()
}

/// What the connection yields — `buffered`, then the stream — is exactly `tail`.
async fn tail_is_exact(conn: &mut hijack_host::HijackedStream, tail: &[u8]) -> anyhow::Result<()> {
    let buffered = conn.buffered().to_vec();
    let all = read_to_end(conn).await;
    anyhow::ensure!(
        all == tail,
        "tail {} bytes != {} bytes",
        all.len(),
        tail.len()
    );
    anyhow::ensure!(
        tail.starts_with(&buffered),
        "buffered is not a prefix of the tail"
    );
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(24),
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Client side: the peer answers a 101 with `fields`, then `tail`, cut by `schedule`.
async fn client_case(
    fields: Vec<(String, String)>,
    tail: Vec<u8>,
    schedule: Vec<usize>,
) -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let mut answer =
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n".to_vec();
    for (n, v) in &fields {
        answer.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    answer.extend_from_slice(b"\r\n");
    answer.extend_from_slice(&tail);
    let peer = tokio::spawn(async move {
        let (mut s, _) = accept_tcp(&listener).await;
        read_head(&mut s).await;
        write_split(&mut s, &answer, &schedule).await?;
        s.shutdown().await?;
        anyhow::Ok(())
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let request = ClientRequest::new("GET", "/", "tcp");
    let (head, mut conn) =
        bounded(instance.dial(&addr.to_string(), request, Default::default())).await?;
    let got = extra_fields(&head.headers, 2);
    anyhow::ensure!(got == fields, "fields {got:?} != {fields:?}");
    tail_is_exact(&mut conn, &tail).await?;
    join(peer).await?;
    Ok(())
}

/// Server side: a client sends an upgrade request with `fields`, then `tail`, cut by
/// `schedule`.
async fn server_case(
    fields: Vec<(String, String)>,
    tail: Vec<u8>,
    schedule: Vec<usize>,
) -> anyhow::Result<()> {
    let any: SocketAddr = "127.0.0.1:0".parse()?;
    let mut instance = runtime()
        .instantiate(NetPolicy::new().allow_listen(any))
        .await?;
    let listener = bounded(instance.listen(any, Limits::default())).await?;
    let addr = listener.local_addr;
    let mut request =
        b"POST /x HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n".to_vec();
    for (n, v) in &fields {
        request.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(&tail);
    let client = tokio::spawn(async move {
        let mut s = connect_tcp(addr).await;
        write_split(&mut s, &request, &schedule).await?;
        s.shutdown().await?;
        read_to_end(&mut s).await;
        anyhow::Ok(())
    });
    let incoming = bounded(instance.accept(&listener)).await?;
    let got = extra_fields(&incoming.head.headers, 3);
    anyhow::ensure!(got == fields, "fields {got:?} != {fields:?}");
    let mut conn = bounded(instance.hijack(incoming, "tcp", Vec::<Header>::new())).await?;
    tail_is_exact(&mut conn, &tail).await?;
    drop(conn);
    join(client).await?;
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn client_tails_come_back_exactly_whatever_the_splits(
        fields in fields(), tail in tail(), schedule in schedule()
    ) {
        rt().block_on(client_case(fields, tail, schedule)).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    }

    #[test]
    fn server_tails_come_back_exactly_whatever_the_splits(
        fields in fields(), tail in tail(), schedule in schedule()
    ) {
        rt().block_on(server_case(fields, tail, schedule)).map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
    }
}
