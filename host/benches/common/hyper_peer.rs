//! The hyper 1.x peer the server benches share: HTTP/1.1 on one connection with upgrades, a
//! request that asks for `tcp` switched with a `101` (anything else gets `400`), the upgraded
//! connection handed to the bench in a task of its own.
//!
//! What is done after the switch is the bench's; this module measures nothing.

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{CONNECTION, UPGRADE};
use hyper::service::service_fn;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use tokio::net::TcpStream;

/// Serve `s` with hyper until it closes; each switched connection goes to `then`.
pub async fn serve_upgrades<F, Fut>(s: TcpStream, then: F)
where
    F: Fn(Upgraded) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let service = service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        let wants_tcp = request
            .headers()
            .get(UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tcp"));
        let mut response = hyper::Response::new(Empty::<Bytes>::new());
        if wants_tcp {
            let upgrade = hyper::upgrade::on(&mut request);
            let then = then.clone();
            tokio::spawn(async move {
                if let Ok(upgraded) = upgrade.await {
                    then(upgraded).await;
                }
            });
            *response.status_mut() = hyper::StatusCode::SWITCHING_PROTOCOLS;
            let h = response.headers_mut();
            h.insert(CONNECTION, "Upgrade".parse().expect("value"));
            h.insert(UPGRADE, "tcp".parse().expect("value"));
        } else {
            *response.status_mut() = hyper::StatusCode::BAD_REQUEST;
        }
        async move { Ok::<_, Infallible>(response) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(s), service)
        .with_upgrades()
        .await;
}
