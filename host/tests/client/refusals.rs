//! Answers that do not switch: a final status, a `101` that is not the switch asked for, a
//! peer that closes, stalls or sends too much or garbage. Each is its own typed error, nothing
//! is handed over, and the instance lives on.

use super::{SWITCH, dial_default, dial_with, get, serve_once};
use crate::support::*;
use hijack_host::{ClientOptions, HijackError};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_101_is_a_typed_error_and_nothing_is_handed_over() -> anyhow::Result<()> {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = accept_tcp(&listener).await;
        read_head(&mut s).await;
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno such c")
            .await?;
        // The component must close: no byte of a new protocol is ever sent.
        anyhow::Ok(read_to_end(&mut s).await)
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let err = typed_err(get(&mut instance, addr).await);
    match err {
        HijackError::NotSwitched(r) => {
            assert_eq!(r.head.status, 404);
            assert_eq!(r.head.reason, "Not Found");
            assert_eq!(r.body, b"no such c");
        }
        other => panic!("expected not-switched, got {other:?}"),
    }
    assert_eq!(join(server).await?, b"");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_101_for_another_protocol_is_not_a_switch() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|mut s| async move {
        s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nPRI",
        )
        .await?;
        Ok(())
    })
    .await;
    let err = typed_err(dial_default(addr, "tcp").await);
    match err {
        HijackError::InvalidSwitch(h) => assert_eq!(h.status, 101),
        other => panic!("expected invalid-switch, got {other:?}"),
    }
    join(server).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_101_without_connection_upgrade_is_not_a_switch() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\n\r\n")
            .await?;
        Ok(())
    })
    .await;
    let err = typed_err(dial_default(addr, "tcp").await);
    assert!(matches!(err, HijackError::InvalidSwitch(_)), "{err:?}");
    join(server).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_closing_mid_head_is_an_error() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgr")
            .await?;
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let err = typed_err(dial_default(addr, "tcp").await);
    assert!(matches!(err, HijackError::ClosedInsideHead), "{err:?}");
    join(server).await?;

    let (addr, server) = serve_once(|mut s| async move {
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let err = typed_err(dial_default(addr, "tcp").await);
    assert!(matches!(err, HijackError::ClosedBeforeHead), "{err:?}");
    join(server).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_times_out_and_a_huge_head_is_refused() -> anyhow::Result<()> {
    let (addr, server) = serve_once(|s| async move {
        // Silent well past the 200 ms deadline, then gone.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        drop(s);
        Ok(())
    })
    .await;
    let mut options = ClientOptions::default();
    options.limits.head_timeout_ms = Some(200);
    let err = typed_err(dial_with(addr, "tcp", options).await);
    assert!(matches!(err, HijackError::Timeout), "{err:?}");
    join(server).await?;

    let (addr, server) = serve_once(|mut s| async move {
        let mut reply = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
        reply.extend(
            std::iter::repeat_n(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 100).flatten(),
        );
        let _ = s.write_all(&reply).await;
        Ok(())
    })
    .await;
    let mut options = ClientOptions::default();
    options.limits.max_head_bytes = Some(1024);
    let err = typed_err(dial_with(addr, "tcp", options).await);
    assert!(matches!(err, HijackError::HeadTooLarge), "{err:?}");
    join(server).await?;
    Ok(())
}

/// What an answer must come to, exactly.
#[derive(Debug)]
enum Want {
    /// `malformed-head` with this reason (httparse's, or the component's own).
    Malformed(&'static str),
    /// `not-switched` with this status and body.
    NotSwitched(u16, &'static [u8]),
}

impl Want {
    fn matches(&self, err: &HijackError) -> bool {
        match (self, err) {
            (Self::Malformed(want), HijackError::MalformedHead(why)) => why == want,
            (Self::NotSwitched(status, body), HijackError::NotSwitched(r)) => {
                r.head.status == *status && r.body == *body
            }
            _ => false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_answers_are_typed_errors_and_the_instance_lives_on() -> anyhow::Result<()> {
    use Want::{Malformed, NotSwitched};
    let garbage: [(&'static [u8], Want); 9] = [
        // Not HTTP/1.x: the version is the first thing a status line is read for.
        (
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            Malformed("invalid HTTP version"),
        ),
        (
            b"HTTP/1.1 99999 Big\r\n\r\n",
            Malformed("invalid status line"),
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade tcp\r\n\r\n",
            Malformed("invalid header name"),
        ),
        // obs-fold (RFC 9112 §5.2): a line starting with a space is no field name.
        (
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n folded: yes\r\nUpgrade: tcp\r\n\r\n",
            Malformed("invalid header name"),
        ),
        // A bare CR inside a value.
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\rX: y\r\n\r\n",
            Malformed("invalid header value"),
        ),
        (
            b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
            Malformed("invalid HTTP version"),
        ),
        (
            b"HTTP/3.0 101 Switching Protocols\r\n\r\n",
            Malformed("invalid HTTP version"),
        ),
        // Six interim responses: one more than the component skips (MAX_INFORMATIONAL, 5),
        // so the 101 after them is never reached.
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
            Malformed("too many informational responses"),
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            NotSwitched(200, b"ok"),
        ),
    ];
    let replies: Vec<&'static [u8]> = garbage.iter().map(|(reply, _)| *reply).collect();
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        for reply in replies.into_iter().chain([SWITCH]) {
            let (mut s, _) = accept_tcp(&listener).await;
            read_head(&mut s).await;
            let _ = s.write_all(reply).await;
            let _ = s.shutdown().await;
        }
        anyhow::Ok(())
    });
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    for (reply, want) in &garbage {
        let err = typed_err(get(&mut instance, addr).await);
        assert!(
            want.matches(&err),
            "{:?}: expected {want:?}, got {err:?}",
            String::from_utf8_lossy(reply)
        );
    }
    let (head, mut conn) = get(&mut instance, addr).await?;
    assert_eq!(head.status, 101);
    assert_eq!(read_to_end(&mut conn).await, b"");
    join(server).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_200_is_hijacked_only_when_allowed() -> anyhow::Result<()> {
    const LEGACY: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw";
    let (addr, peer) = serve_once(|mut s| async move {
        s.write_all(LEGACY).await?;
        Ok(())
    })
    .await;
    let err = dial_default(addr, "tcp").await.err().expect("refused");
    assert_eq!(err.refusal().expect("not switched").head.status, 200);
    join(peer).await?;

    let (addr, peer) = serve_once(|mut s| async move {
        s.write_all(LEGACY).await?;
        s.shutdown().await?;
        Ok(())
    })
    .await;
    let options = ClientOptions {
        allow_200: true,
        ..Default::default()
    };
    let (head, mut conn) = dial_with(addr, "tcp", options).await?;
    assert_eq!(head.status, 200);
    assert_eq!(read_to_end(&mut conn).await, b"raw");
    join(peer).await?;
    Ok(())
}
