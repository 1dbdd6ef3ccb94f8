//! The one recipe for the shipped wasi-hijack component.
//!
//! [`build_component`] builds the workspace's root package for `wasm32-wasip2` with the
//! `component` profile (a nested cargo in a target directory of its own per world, so it never
//! waits on the outer build's lock or on the other world's build), drops the component's
//! debug-name section, shrinks its code with Binaryen's `wasm-opt` when that is installed, and
//! writes the result to `target/component/hijack.wasm` (the world `hijack`),
//! `target/component/hijack-tls.wasm` (the world `hijack-tls`: the same source with its `tls`
//! feature) or `target/component/hijack-p3.wasm` (the WASI 0.3 component, `crates/hijack-p3`). The host's build script embeds the second, `xtask examples` composes the
//! examples with the first: every consumer gets the same bytes.
//!
//! This crate runs on the build machine only; it knows nothing of HTTP or WASI.

#![deny(missing_docs)]
#![deny(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the component could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// cargo could not be started.
    #[error("could not run cargo: {0}")]
    Cargo(#[source] std::io::Error),
    /// cargo ran and failed (its own output says why).
    #[error(
        "building the wasi-hijack component failed; is the wasm32-wasip2 target installed? \
         (`rustup target add wasm32-wasip2`, which scripts/setup runs)"
    )]
    Failed,
    /// The built component could not be read or the artifact written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The built component is not a well-formed binary.
    #[error("the built component is malformed: {0}")]
    Malformed(#[from] wasmparser::BinaryReaderError),
}

/// Which of the component's two worlds to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// `hijack`: plain TCP; needs no wasi:tls from its runtime (jco, wasmtime without
    /// `-S tls`).
    Hijack,
    /// `hijack-tls`: `hijack` plus `tls-client` over wasi:tls.
    HijackTls,
    /// `hijack:http@0.3.0`'s `hijack` (`wit-p3/`): the same exchanges on WASI 0.3, from the
    /// `hijack-p3` package.
    HijackP3,
}

impl World {
    /// The world's name, which is also the artifact's file stem.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hijack => "hijack",
            Self::HijackTls => "hijack-tls",
            Self::HijackP3 => "hijack-p3",
        }
    }

    /// The package that builds it, and the file cargo writes.
    fn package(self) -> (&'static str, &'static str) {
        match self {
            Self::Hijack | Self::HijackTls => ("wasi-hijack", "wasi_hijack.wasm"),
            Self::HijackP3 => ("hijack-p3", "hijack_p3.wasm"),
        }
    }
}

/// What [`build_component`] made.
#[derive(Debug, Clone)]
pub struct Built {
    /// The shipped component: `target/component/WORLD.wasm`.
    pub path: PathBuf,
    /// Whether `wasm-opt` shrank it (it is optional: without it the component is larger).
    pub optimized: bool,
}

/// The paths a build script should watch to rebuild the component: its sources, the core
/// crate's, the WIT and the manifests.
pub fn watched(root: &Path) -> Vec<PathBuf> {
    [
        "src",
        "crates/hijack-proto",
        "crates/hijack-net",
        "crates/hijack-runtime",
        "crates/hijack-p3",
        "wit",
        "wit-p3",
        "Cargo.toml",
        "Cargo.lock",
    ]
    .iter()
    .map(|p| root.join(p))
    .collect()
}

/// Build the component of the workspace at `root` for `world` and write it to
/// `root/target/component/WORLD.wasm` (atomically: a concurrent reader sees the old file or
/// the new one, never half of one).
pub fn build_component(root: &Path, world: World) -> Result<Built, BuildError> {
    let target_dir = root
        .join("target")
        .join("component-build")
        .join(world.name());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "-p",
            world.package().0,
            "--lib",
            "--target",
            "wasm32-wasip2",
        ])
        .args(["--profile", "component", "--target-dir"])
        .arg(&target_dir);
    if world == World::HijackTls {
        cmd.args(["--features", "tls"]);
    }
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
    if !cmd.status().map_err(BuildError::Cargo)?.success() {
        return Err(BuildError::Failed);
    }
    let raw = target_dir
        .join("wasm32-wasip2/component")
        .join(world.package().1);
    let bytes = std::fs::read(&raw).map_err(|source| BuildError::File {
        path: raw.clone(),
        source,
    })?;
    let out_dir = root.join("target").join("component");
    let file = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::File { path, source }
    };
    std::fs::create_dir_all(&out_dir).map_err(file(&out_dir))?;
    let mut optimized = false;
    let finished = finish(&bytes, |module| {
        let out = wasm_opt(module, &out_dir);
        optimized = out.is_some();
        out
    })?;
    let path = out_dir.join(format!("{}.wasm", world.name()));
    let partial = out_dir.join(format!("{}.wasm.{}", world.name(), std::process::id()));
    std::fs::write(&partial, finished).map_err(file(&partial))?;
    std::fs::rename(&partial, &path).map_err(file(&path))?;
    Ok(Built { path, optimized })
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

/// `module` optimised for size by Binaryen's `wasm-opt -Oz` (it removes more code than
/// rustc's own `opt-level = "z"`), when `wasm-opt` is on the PATH (scripts/setup installs
/// Debian's `binaryen`); `None` without it, or if it fails (the component then keeps the
/// module as rustc made it, and a warning says why).
fn wasm_opt(module: &[u8], scratch: &Path) -> Option<Vec<u8>> {
    let id = std::process::id();
    let input = scratch.join(format!("core.{id}.wasm"));
    let output = scratch.join(format!("core.{id}.opt.wasm"));
    std::fs::write(&input, module).ok()?;
    let run = Command::new("wasm-opt")
        .arg("-Oz")
        .args(FEATURES)
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output();
    let result = match run {
        Ok(out) if out.status.success() => std::fs::read(&output).ok(),
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            eprintln!(
                "warning: wasm-opt failed; the component keeps rustc's code: {}",
                why.lines().next().unwrap_or("")
            );
            None
        }
        // Not installed: the component is only larger.
        Err(_) => None,
    };
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
    result
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
