//! Servers inside the bench process: a named thread with a runtime of its own, and our
//! component's listener on loopback.
//!
//! What a server does with its connections is the bench's; this module only starts it and
//! hands back where it listens.

use std::future::Future;
use std::net::SocketAddr;

use super::procfs::thread_id;
use super::run::{STEP, current_thread};

/// Run `serve` (given a channel for its address) on a thread of its own with a current-thread
/// runtime; the address and the thread's id (for its CPU time in `/proc`). Named, for a
/// profiler's view of one server (`perf report --comm NAME`).
pub fn server_thread<F, Fut>(name: &str, serve: F) -> (SocketAddr, u32)
where
    F: FnOnce(std::sync::mpsc::Sender<SocketAddr>) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tid_tx.send(thread_id());
            current_thread().block_on(serve(tx))
        })
        .expect("a server thread");
    let addr = rx.recv_timeout(STEP).expect("server address");
    let tid = tid_rx.recv_timeout(STEP).expect("thread id");
    (addr, tid)
}

/// An instance of `runtime` allowed to listen on loopback only, listening on a free port with
/// `limits`: the server side of "ours" in every bench.
pub async fn loopback_listener(
    runtime: &hijack_host::Runtime,
    limits: hijack_host::Limits,
) -> (hijack_host::Instance, hijack_host::Listener) {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let mut instance = runtime
        .instantiate(hijack_host::NetPolicy::new().allow_listen(any))
        .await
        .expect("instance");
    let listener = instance.listen(any, limits).await.expect("listen");
    (instance, listener)
}
