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
/// `strip = true` drops them from the core module (wit-component adds them after it). Every
/// other section, nested modules and components included, is copied as it is.
fn strip_names(bytes: &[u8]) -> Result<Vec<u8>, wasmparser::BinaryReaderError> {
    use wasmparser::{Parser, Payload};
    let mut out = wasm_encoder::Component::new();
    // Payloads of nested modules and components follow their section: skip them, the
    // section's raw bytes already hold them.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        let nested = matches!(
            payload,
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. }
        );
        if depth == 0 {
            let is_names =
                matches!(&payload, Payload::CustomSection(c) if c.name() == "component-name");
            if let Some((id, range)) = payload.as_section()
                && !is_names
            {
                out.section(&wasm_encoder::RawSection {
                    id,
                    data: &bytes[range],
                });
            }
        }
        if nested {
            depth += 1;
        } else if let Payload::End(_) = payload {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(out.finish())
}
