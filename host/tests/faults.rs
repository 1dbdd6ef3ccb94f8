//! Faults with real peers, as a table: each peer misbehaves in one way, the client's exchange
//! fails with exactly the error variant the WIT documents for it, and the same instance then
//! hijacks a well-behaved peer with every byte intact. Every wait is bounded.

use crate::support;

use hijack_host::{ClientOptions, ClientRequest, ErrorCode, HijackError, Limits, NetPolicy};
use support::{
    accept_tcp, bounded, join, listener, read_head, read_to_end, refused, runtime, typed_err,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const SWITCH: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";

/// What a faulty peer does after it has read the request head.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Close without a byte.
    CloseBeforeHead,
    /// Send part of a status line, then close.
    CloseInsideHead,
    /// Reset the connection (SO_LINGER 0).
    Reset,
    /// Never answer (the head deadline is 300 ms).
    Silent,
    /// Answer something that is not HTTP.
    Garbage,
    /// A head larger than `max-head-bytes` (1024).
    HugeHead,
    /// More fields than `max-headers` (10).
    ManyFields,
    /// A final status that does not switch.
    NotFound,
    /// A `101` to another protocol.
    OtherProtocol,
}

impl Fault {
    async fn act(self, mut s: TcpStream) {
        let reply: Vec<u8> = match self {
            Self::CloseBeforeHead => Vec::new(),
            Self::CloseInsideHead => b"HTTP/1.1 10".to_vec(),
            Self::Reset => {
                s.set_zero_linger().expect("linger");
                return drop(s);
            }
            Self::Silent => {
                // Hold the connection well past the deadline, aside: the next fault goes on.
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    drop(s);
                });
                return;
            }
            Self::Garbage => b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec(),
            Self::HugeHead => {
                let mut head = b"HTTP/1.1 101 Switching Protocols\r\nX-Pad: ".to_vec();
                head.extend(std::iter::repeat_n(b'a', 2000));
                head.extend_from_slice(b"\r\n\r\n");
                head
            }
            Self::ManyFields => {
                let mut head = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
                for i in 0..11 {
                    head.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
                }
                head.extend_from_slice(b"\r\n");
                head
            }
            Self::NotFound => b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope".to_vec(),
            Self::OtherProtocol => {
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                    .to_vec()
            }
        };
        let _ = s.write_all(&reply).await;
        let _ = s.shutdown().await;
    }

    /// Whether `err` is exactly what this fault must produce.
    fn expected(self, err: &HijackError) -> bool {
        use HijackError as E;
        match self {
            Self::CloseBeforeHead => matches!(err, E::ClosedBeforeHead),
            Self::CloseInsideHead => matches!(err, E::ClosedInsideHead),
            // A reset before any byte: the read fails (ECONNRESET) rather than ending.
            Self::Reset => matches!(err, E::Io(_)),
            Self::Silent => matches!(err, E::Timeout),
            Self::Garbage => matches!(err, E::MalformedHead(_)),
            Self::HugeHead => matches!(err, E::HeadTooLarge),
            Self::ManyFields => matches!(err, E::TooManyHeaders),
            Self::NotFound => {
                matches!(err, E::NotSwitched(r) if r.head.status == 404 && r.body == b"nope")
            }
            Self::OtherProtocol => matches!(err, E::InvalidSwitch(h) if h.status == 101),
        }
    }
}

const FAULTS: [Fault; 9] = [
    Fault::CloseBeforeHead,
    Fault::CloseInsideHead,
    Fault::Reset,
    Fault::Silent,
    Fault::Garbage,
    Fault::HugeHead,
    Fault::ManyFields,
    Fault::NotFound,
    Fault::OtherProtocol,
];

fn options() -> ClientOptions {
    ClientOptions {
        limits: Limits {
            max_head_bytes: Some(1024),
            max_headers: Some(10),
            head_timeout_ms: Some(300),
        },
        connect_timeout_ms: Some(2_000),
        keepalive_ms: None,
        allow_200: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_its_own_typed_error_and_the_instance_lives_on() -> anyhow::Result<()> {
    // A well-behaved peer for after each fault: 101, first bytes, close.
    let (good, good_addr) = listener().await;
    let good_peer = tokio::spawn(async move {
        for _ in 0..FAULTS.len() + 2 {
            let (mut s, _) = accept_tcp(&good).await;
            read_head(&mut s).await;
            s.write_all(&[SWITCH, b"\x00after\r\n\r\n"].concat())
                .await?;
            s.shutdown().await?;
        }
        anyhow::Ok(())
    });
    let (bad, bad_addr) = listener().await;
    let bad_peer = tokio::spawn(async move {
        for fault in FAULTS {
            let (mut s, _) = accept_tcp(&bad).await;
            read_head(&mut s).await;
            fault.act(s).await;
        }
        anyhow::Ok(())
    });
    // Refused for sure: a port held by a socket that does not listen.
    let closed = refused();
    let refused = closed.addr;
    let policy = NetPolicy::new()
        .allow_connect(good_addr)
        .allow_connect(bad_addr)
        .allow_connect(refused)
        .allow_name_lookup(true);
    let mut instance = runtime().instantiate(policy).await?;
    let request = || ClientRequest::new("GET", "/", "tcp");
    let check_alive = async |instance: &mut hijack_host::Instance, after: &str| {
        let (head, mut conn) = bounded(instance.dial(&good_addr.to_string(), request(), options()))
            .await
            .unwrap_or_else(|e| panic!("after {after}: {e}"));
        assert_eq!(head.status, 101, "after {after}");
        assert_eq!(
            read_to_end(&mut conn).await,
            b"\x00after\r\n\r\n",
            "after {after}"
        );
    };

    let err = typed_err(bounded(instance.dial(&refused.to_string(), request(), options())).await);
    assert!(
        matches!(err, HijackError::Connect(ErrorCode::ConnectionRefused)),
        "{err:?}"
    );
    check_alive(&mut instance, "refused").await;

    // A name that cannot resolve (RFC 6761 reserves .invalid).
    let err =
        typed_err(bounded(instance.dial("no-such-host.invalid:80", request(), options())).await);
    assert!(matches!(err, HijackError::Dns(_)), "{err:?}");
    check_alive(&mut instance, "unknown host").await;

    for fault in FAULTS {
        let err =
            typed_err(bounded(instance.dial(&bad_addr.to_string(), request(), options())).await);
        assert!(fault.expected(&err), "{fault:?}: got {err:?}");
        check_alive(&mut instance, &format!("{fault:?}")).await;
    }
    join(bad_peer).await?;
    good_peer.abort();
    assert_eq!(
        instance.open_handles(),
        0,
        "nothing left open in the instance"
    );
    Ok(())
}
