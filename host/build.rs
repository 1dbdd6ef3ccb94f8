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
    let scratch = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let mut optimized = false;
    let finished = finish(&bytes, |module| {
        let out = wasm_opt(module, &scratch);
        optimized = out.is_some();
        out
    })
    .expect("the component is a well-formed binary");
    // For the size test: whether Binaryen shrank this build (it is optional).
    println!(
        "cargo:rustc-env=HIJACK_COMPONENT_WASM_OPT={}",
        if optimized { "yes" } else { "no" }
    );
    std::fs::write(&out, finished).expect("write the component into OUT_DIR");
}

/// The features the core module may use (Rust's defaults for wasm32-wasip2), for wasm-opt.
const FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-multivalue",
    "--enable-reference-types",
];

/// `module` optimised for size by Binaryen's `wasm-opt -Oz` (about 18 % less code than
/// rustc's own `opt-level = "z"` gives), when `wasm-opt` is on the PATH (scripts/setup installs
/// Debian's `binaryen`); `None` without it, or if it fails (the build then keeps the module as
/// rustc made it, and says why).
fn wasm_opt(module: &[u8], scratch: &std::path::Path) -> Option<Vec<u8>> {
    let input = scratch.join("core.wasm");
    let output = scratch.join("core.opt.wasm");
    std::fs::write(&input, module).ok()?;
    let run = Command::new("wasm-opt")
        .arg("-Oz")
        .args(FEATURES)
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output();
    match run {
        Ok(out) if out.status.success() => std::fs::read(&output).ok(),
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            println!(
                "cargo:warning=wasm-opt failed; the component keeps rustc's code: {}",
                why.lines().next().unwrap_or("")
            );
            None
        }
        // Not installed: the component is only larger.
        Err(_) => None,
    }
}

/// The component as it ships: its top-level `component-name` custom section dropped (debug
/// names, as `strip = true` drops them from the core module; wit-component adds them after it),
/// and its largest core module (the crate's code; the others are wit-component's small shims)
/// replaced by what `optimize` makes of it, if anything. The replacement keeps every import and
/// export by name, which is all the component's other sections refer to. Every other section,
/// nested modules and components included, is copied as it is.
fn finish(
    bytes: &[u8],
    optimize: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Result<Vec<u8>, wasmparser::BinaryReaderError> {
    use wasmparser::{Parser, Payload};
    let main_module = largest_module(bytes)?;
    let optimized = main_module
        .clone()
        .and_then(|range| optimize(&bytes[range]));
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
                let data = match &optimized {
                    Some(module) if Some(&range) == main_module.as_ref() => module.as_slice(),
                    _ => &bytes[range],
                };
                out.section(&wasm_encoder::RawSection { id, data });
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

/// The byte range of the component's largest top-level core module.
fn largest_module(
    bytes: &[u8],
) -> Result<Option<std::ops::Range<usize>>, wasmparser::BinaryReaderError> {
    use wasmparser::{Parser, Payload};
    let mut largest: Option<std::ops::Range<usize>> = None;
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        match &payload {
            Payload::ModuleSection {
                unchecked_range, ..
            } => {
                if depth == 0
                    && largest
                        .as_ref()
                        .is_none_or(|l| unchecked_range.len() > l.len())
                {
                    largest = Some(unchecked_range.clone());
                }
                depth += 1;
            }
            Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(largest)
}
