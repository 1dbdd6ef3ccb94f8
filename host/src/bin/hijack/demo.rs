//! `hijack demo`: an attach-style session on loopback, both ends in the component: one
//! instance serves (accept, read the head, switch, hand over), another dials (send the
//! upgrade request, validate the `101`, hand over); the host moves bytes between them.
//!
//! A narrated walk-through on loopback only: it takes no options and grants each instance
//! exactly the one address it needs.

use crate::runtime;
use hijack_host::{ClientRequest, Header, Limits, NetPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Run the demo and narrate it on stdout.
pub async fn run() -> anyhow::Result<()> {
    let runtime = runtime()?;
    let any_port = "127.0.0.1:0".parse()?;
    let mut server = runtime
        .instantiate(NetPolicy::new().allow_listen(any_port))
        .await?;
    let listener = server.listen(any_port, Limits::default()).await?;
    let addr = listener.local_addr;
    println!("server: listening on {addr} (accept and head parsing run in the component)");

    let server_task = tokio::spawn(async move {
        let incoming = server.accept(&listener).await?;
        println!(
            "server: {} {} from {}, offers {:?}",
            incoming.head.method,
            incoming.head.target,
            incoming
                .remote_addr
                .map_or_else(|| "an unknown peer".to_string(), |a| a.to_string()),
            incoming.protocols
        );
        let protocol = incoming.protocols.first().cloned().unwrap_or_default();
        let stream = server.hijack(incoming, &protocol, Vec::new()).await?;
        println!(
            "server: answered 101, took the connection ({} bytes were buffered past the head)",
            stream.buffered().len()
        );
        crate::serve::echo(stream).await?;
        println!("server: peer half-closed; echo done");
        anyhow::Ok(())
    });

    let mut client = runtime
        .instantiate(NetPolicy::new().allow_connect(addr))
        .await?;
    let mut request = ClientRequest::new(
        "POST",
        "/containers/demo/attach?stream=1&stdin=1&stdout=1",
        "tcp",
    );
    request
        .headers
        .push(Header::new("User-Agent", "hijack-demo"));
    println!("client: POST /containers/demo/attach with Connection: Upgrade, Upgrade: tcp");
    let (head, mut conn) = client
        .dial(&addr.to_string(), request, Default::default())
        .await?;
    println!(
        "client: {} {} — connection handed over",
        head.status, head.reason
    );
    for line in [
        "hello over a hijacked connection\n",
        "bytes move host-side now\n",
    ] {
        conn.write_all(line.as_bytes()).await?;
        let mut back = vec![0; line.len()];
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            conn.read_exact(&mut back),
        )
        .await??;
        print!(
            "client: sent and got back: {}",
            String::from_utf8_lossy(&back)
        );
    }
    conn.shutdown().await?;
    let mut rest = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut rest),
    )
    .await??;
    println!(
        "client: half-closed; peer closed after {} more bytes",
        rest.len()
    );
    server_task.await??;
    println!("demo: ok");
    Ok(())
}
