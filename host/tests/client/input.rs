//! What the component refuses before a byte is sent (the caller's bad input), and what it
//! cannot reach (the policy, a refused connect), the instance living on after each. That
//! nothing connected is proven by the next connection a listener sees, never by a quiet
//! window.

use super::{SWITCH, dial_on, get, serve_once};
use crate::support::*;
use hijack_host::{ClientRequest, ErrorCode, Header, HijackError, NetPolicy};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_then_the_same_instance_still_works() -> anyhow::Result<()> {
    // Refused for sure: a port held by a socket that does not listen.
    let closed = refused();
    let (addr, server) = serve_once(|mut s| async move {
        let mut reply = SWITCH.to_vec();
        reply.extend_from_slice(b"after");
        s.write_all(&reply).await?;
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let policy = NetPolicy::new()
        .allow_connect(closed.addr)
        .allow_connect(addr);
    let mut instance = runtime().instantiate(policy).await?;
    let err = typed_err(get(&mut instance, closed.addr).await);
    assert!(
        matches!(err, HijackError::Connect(ErrorCode::ConnectionRefused)),
        "{err:?}"
    );
    let (head, mut conn) = get(&mut instance, addr).await?;
    assert_eq!(head.status, 101);
    assert_eq!(read_to_end(&mut conn).await, b"after");
    join(server).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_crlf_is_refused_before_any_byte_is_sent() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let bad = [
        ("X-Evil", b"a\r\nInjected: yes".to_vec()),
        ("X-Evil", b"a\nb".to_vec()),
        ("X-Evil", b"a\0b".to_vec()),
        ("Bad Name", b"v".to_vec()),
        ("Upgrade", b"h2c".to_vec()),
        ("content-length", b"5".to_vec()),
    ];
    for (name, value) in bad {
        let mut request = ClientRequest::new("GET", "/", "tcp");
        request.headers.push(Header::new(name, value.clone()));
        let err = typed_err(dial_on(&mut instance, addr, request, Default::default()).await);
        assert!(
            matches!(err, HijackError::InvalidInput(_)),
            "{name}: {err:?}"
        );
    }
    let err = typed_err(
        dial_on(
            &mut instance,
            addr,
            ClientRequest::new("GET", "/a b", "tcp"),
            Default::default(),
        )
        .await,
    );
    assert!(matches!(err, HijackError::InvalidInput(_)), "{err:?}");
    // Nothing connected at all: a good dial from the same instance, after them, is the first
    // connection the listener sees (a connect made before it would be queued ahead of it).
    let server = tokio::spawn(async move {
        let (mut s, _) = accept_tcp(&listener).await;
        let head = read_head(&mut s).await;
        s.write_all(SWITCH).await?;
        s.shutdown().await?;
        anyhow::Ok(head)
    });
    let (head, mut conn) = dial_on(
        &mut instance,
        addr,
        ClientRequest::new("GET", "/good", "tcp"),
        Default::default(),
    )
    .await?;
    assert_eq!(head.status, 101);
    assert_eq!(read_to_end(&mut conn).await, b"");
    let first = String::from_utf8(join(server).await?)?;
    assert!(
        first.starts_with("GET /good HTTP/1.1\r\n"),
        "the component connected despite invalid input: the first connection sent {first:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_denies_what_it_was_not_told() -> anyhow::Result<()> {
    let (_other, elsewhere) = listener().await;
    let (denied, addr) = listener().await;
    let mut instance = runtime().instantiate(connect_to(elsewhere)).await?;
    let err = typed_err(get(&mut instance, addr).await);
    assert!(
        matches!(err, HijackError::Connect(ErrorCode::AccessDenied)),
        "{err:?}"
    );
    // Nothing reached the listener: a connection made here, now, is the first it sees.
    let ours = connect_tcp(addr).await;
    let (_, first) = accept_tcp(&denied).await;
    assert_eq!(first, ours.local_addr()?, "the denied dial connected");
    Ok(())
}
