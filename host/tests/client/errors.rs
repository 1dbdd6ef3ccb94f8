//! The host's error type: the component's typed error behind predicates (`is_timeout`,
//! `refusal`, ...), each true for its own case only, shown on one line; the runtime's own
//! failure keeps its cause.

use super::{dial_default, dial_on, dial_with, get, serve_once};
use crate::support::*;
use hijack_host::{ClientOptions, ClientRequest};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_errors_branch_by_predicate_and_display_one_line() -> anyhow::Result<()> {
    use std::error::Error as _;
    let one_line = |e: &hijack_host::Error| {
        let text = e.to_string();
        assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
        text
    };

    // Not switched: the refusal is reachable, and it is nothing else.
    let (addr, server) = serve_once(|mut s| async move {
        s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno")
            .await?;
        Ok(())
    })
    .await;
    let err = dial_default(addr, "tcp").await.err().expect("a refusal");
    assert!(err.is_not_switched());
    let refusal = err.refusal().expect("the refusal");
    assert_eq!(
        (refusal.head.status, refusal.body.as_slice()),
        (403, &b"no"[..])
    );
    assert!(!err.is_timeout() && !err.is_invalid_input() && !err.is_denied());
    assert!(!err.is_invalid_switch() && !err.is_trap());
    assert_eq!(
        one_line(&err),
        "the peer did not switch protocols: 403 Forbidden"
    );
    assert!(err.source().is_none());
    join(server).await?;

    // A deadline.
    let (addr, server) = serve_once(|s| async move {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        drop(s);
        Ok(())
    })
    .await;
    let mut options = ClientOptions::default();
    options.limits.head_timeout_ms = Some(100);
    let err = dial_with(addr, "tcp", options)
        .await
        .err()
        .expect("a timeout");
    assert!(err.is_timeout() && !err.is_not_switched() && err.refusal().is_none());
    assert_eq!(one_line(&err), "timed out");
    join(server).await?;

    // Invalid input, and a denial by the policy.
    let (_listener, addr) = listener().await;
    let mut instance = runtime().instantiate(connect_to(addr)).await?;
    let err = dial_on(
        &mut instance,
        addr,
        ClientRequest::new("GET", "/\r\nX: y", "tcp"),
        Default::default(),
    )
    .await
    .err()
    .expect("invalid input");
    assert!(err.is_invalid_input() && !err.is_denied());
    assert!(one_line(&err).starts_with("invalid input: target"));
    let (_other, elsewhere) = listener().await;
    let err = get(&mut instance, elsewhere).await.err().expect("denied");
    assert!(err.is_denied() && !err.is_invalid_input());
    assert_eq!(one_line(&err), "connect failed: access-denied");

    // The runtime's own failure keeps its cause as the source, and shows one line.
    let err = hijack_host::Runtime::from_bytes(b"not a component")
        .err()
        .expect("not wasm");
    assert!(matches!(err, hijack_host::Error::Runtime(_)), "{err:?}");
    assert!(err.hijack().is_none() && !err.is_trap());
    assert!(one_line(&err).starts_with("runtime: "));
    assert!(err.source().is_some(), "the cause is kept");
    Ok(())
}
