//! All `bindgen!` configuration in one place: the host's view of `wit/hijack.wit`.
//!
//! WASI types come from `wasmtime_wasi::p2::bindings`, so the `tcp-socket`, `input-stream`
//! and `output-stream` the component returns are the same resources wasmtime-wasi keeps in the
//! store's table.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "hijack",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "wasi": wasmtime_wasi::p2::bindings,
    },
});
