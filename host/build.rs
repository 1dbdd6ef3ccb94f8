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
    let bytes = std::fs::read(&wasm).expect("read the built component");
    let stripped = strip_names(&bytes).expect("the component is a well-formed binary");
    std::fs::write(&out, stripped).expect("write the component into OUT_DIR");
}

/// Drop the component's top-level `component-name` custom section: debug names, as
/// `strip = true` drops them from the core module (wit-component adds them after it).
/// Every other byte is kept as it is.
fn strip_names(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = bytes.get(..8)?.to_vec();
    let mut at = 8;
    while at < bytes.len() {
        let start = at;
        let id = bytes[at];
        at += 1;
        let (size, len) = leb128(bytes.get(at..)?)?;
        at += len;
        let payload = bytes.get(at..at.checked_add(size)?)?;
        at += size;
        let is_names = id == 0
            && leb128(payload)
                .is_some_and(|(n, l)| payload.get(l..l + n) == Some(b"component-name"));
        if !is_names {
            out.extend_from_slice(&bytes[start..at]);
        }
    }
    Some(out)
}

/// An unsigned LEB128 value and how many bytes it took.
fn leb128(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, b) in bytes.iter().take(5).enumerate() {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}
