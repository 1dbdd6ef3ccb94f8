//! All `bindgen!` configuration in one place: the host's view of `wit/hijack.wit`, world
//! `hijack-tls` (the embedded component's; `hijack` is a part of it).
//!
//! WASI types come from `wasmtime_wasi::p2::bindings`, so the `input-stream` and
//! `output-stream` the component returns are the resources wasmtime-wasi keeps in the store's
//! table; `tcp-socket` is the host's own (`sockets/`), and so are wasi:tls's resources
//! (`tls/`), from the bindings below.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "hijack-tls",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wasi:sockets/tcp": sockets::wasi::sockets::tcp,
        "wasi:tls": tls::wasi::tls,
        "wasi": wasmtime_wasi::p2::bindings,
    },
});

/// `wasi:tls/types` (0.2.0-draft), implemented by the host (`tls/`) over wasmtime-wasi's
/// streams and pollables.
pub mod tls {
    wasmtime::component::bindgen!({
        path: "../wit",
        interfaces: "
            import wasi:tls/types@0.2.0-draft;
        ",
        imports: { default: trappable },
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:tls/types.client-handshake": crate::tls::ClientHandshake,
            "wasi:tls/types.client-connection": crate::tls::ClientConnection,
            "wasi:tls/types.future-client-streams": crate::tls::FutureClientStreams,
        },
    });
}

/// `wasi:sockets/tcp` and `tcp-create-socket`, implemented by the host (`sockets/`) over
/// wasmtime-wasi's streams, pollables and `network`. `error-code` is trappable, as
/// wasmtime-wasi has it: the host functions return a `SocketError`, which is either the
/// code for the component or a trap.
pub mod sockets {
    wasmtime::component::bindgen!({
        path: "../wit",
        interfaces: "
            import wasi:sockets/tcp@0.2.12;
            import wasi:sockets/tcp-create-socket@0.2.12;
        ",
        imports: { default: trappable },
        trappable_error_type: {
            "wasi:sockets/network.error-code" => wasmtime_wasi::p2::SocketError,
        },
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:sockets/network": wasmtime_wasi::p2::bindings::sockets::network,
            "wasi:sockets/tcp.tcp-socket": crate::sockets::TcpSocket,
        },
    });
}
