//! Instances from wasmtime's pooling allocator: as many as its slots, then a runtime error (not
//! a wait, not a panic), a slot reused once freed, and each instance doing the whole exchange.

use super::{SWITCH, get};
use crate::support::*;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_runtime_gives_out_its_slots_then_refuses_then_reuses_them() -> anyhow::Result<()>
{
    let pooled = hijack_host::Runtime::builder().pooling(2).build()?;
    let (listener, addr) = listener().await;
    let first = pooled.instantiate(connect_to(addr)).await?;
    let mut second = pooled.instantiate(connect_to(addr)).await?;
    // Both slots are taken: a third instance is a runtime error, not a wait or a panic.
    let third = pooled.instantiate(connect_to(addr)).await;
    assert!(
        matches!(third, Err(hijack_host::Error::Runtime(_))),
        "{:?}",
        third.err()
    );
    drop(first);
    let mut again = pooled.instantiate(connect_to(addr)).await?;
    // Instances from the pool do the whole exchange.
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let (mut s, _) = accept_tcp(&listener).await;
            read_head(&mut s).await;
            s.write_all(SWITCH).await?;
            s.write_all(b"pooled").await?;
            s.shutdown().await?;
        }
        anyhow::Ok(())
    });
    for instance in [&mut second, &mut again] {
        let (head, mut conn) = get(instance, addr).await?;
        assert_eq!(head.status, 101);
        assert_eq!(read_to_end(&mut conn).await, b"pooled");
    }
    join(server).await?;
    Ok(())
}
