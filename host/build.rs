//! Builds the wasi-hijack component (the workspace's root package) for `wasm32-wasip2` with the
//! `component` profile, and leaves it in `OUT_DIR/hijack.wasm` for `include_bytes!`.
//!
//! The component is built by a nested cargo in its own target directory
//! (`target/component-build`), so it never contends with the outer build's lock.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("host/ lives in the workspace")
        .to_path_buf();
    for watched in ["src", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target").join("component-build");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "-p",
            "wasi-hijack",
            "--lib",
            "--target",
            "wasm32-wasip2",
        ])
        .args(["--profile", "component", "--target-dir"])
        .arg(&target_dir);
    // The outer build's flags, wrappers and target settings are not the component's.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("run cargo to build the component");
    if !status.success() {
        panic!(
            "building the wasi-hijack component failed; is the wasm32-wasip2 target installed? \
             (`rustup target add wasm32-wasip2`, which scripts/setup runs)"
        );
    }
    let wasm = target_dir.join("wasm32-wasip2/component/wasi_hijack.wasm");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("hijack.wasm");
    std::fs::copy(&wasm, &out).expect("copy the built component into OUT_DIR");
}
