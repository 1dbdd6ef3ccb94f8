//! Embeds the shipped wasi-hijack component in its world `hijack-tls` (the host supplies
//! wasi:tls): `hijack_build::build_component` (the one recipe, shared with `xtask examples`)
//! builds it into `target/component/hijack-tls.wasm`, and this script copies it to
//! `OUT_DIR/hijack.wasm` for `include_bytes!`.

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("host/ lives in the workspace");
    for watched in hijack_build::watched(root) {
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    let built = match hijack_build::build_component(root, hijack_build::World::HijackTls) {
        Ok(built) => built,
        Err(e) => panic!("{e}"),
    };
    // For the size test: whether Binaryen shrank this build (it is optional).
    println!(
        "cargo:rustc-env=HIJACK_COMPONENT_WASM_OPT={}",
        if built.optimized { "yes" } else { "no" }
    );
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("hijack.wasm");
    std::fs::copy(&built.path, &out).expect("copy the component into OUT_DIR");
}
