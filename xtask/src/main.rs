//! The project's build tasks, run as `cargo run -p xtask -- TASK`.
//!
//! - `component`: build the shipped components — both WASI 0.2 worlds and the WASI 0.3 one —
//!   (the recipe in `hijack-build`; the host embeds `hijack-tls`) and print their paths.
//! - `examples`: build every example of the examples workspace (`examples/`) for
//!   `wasm32-wasip2`, and compose each with the shipped component it imports (`hijack`, or
//!   `hijack-p3` on WASI 0.3) as `wac plug` would (with the prebuilt `wasm-tools compose` that
//!   scripts/tools installs), into `target/composed/NAME.wasm` (beside
//!   `target/composed/hijack.wasm` and `hijack-p3.wasm`, the components themselves).
//!
//! The examples are the members of `examples/Cargo.toml` that build a component (a `bin` or a
//! `cdylib` target): that manifest is the one list of them.

use anyhow::{Context, Result, bail};
use hijack_build::World;
use std::path::Path;
use std::process::Command;

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask/ lives in the workspace")?
        .to_path_buf();
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "component" => {
            for world in [World::Hijack, World::HijackTls, World::HijackP3] {
                let built = hijack_build::build_component(&root, world)?;
                println!("{}", built.path.display());
            }
        }
        "examples" => examples(&root)?,
        _ => bail!("usage: cargo run -p xtask -- (component | examples)"),
    }
    Ok(())
}

/// One example: the file its crate builds, the name of the composed component, and the
/// component it imports.
struct Example {
    /// The target's name as cargo names the built file (`edge_attach` for a cdylib).
    file: String,
    /// The composed component's name: the target's name with `-` for `_`.
    name: String,
    /// The world it is composed with: `hijack` (WASI 0.2), or `hijack-p3` for a package
    /// whose manifest says `[package.metadata.hijack] component = "hijack-p3"`.
    world: World,
}

fn examples(root: &Path) -> Result<()> {
    let manifest = root.join("examples/Cargo.toml");
    let target_dir = root.join("target/examples");
    let examples = list(&manifest)?;
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "-q",
            "--release",
            "--workspace",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .context("run cargo")?;
    if !status.success() {
        bail!("building the examples failed");
    }
    let out = root.join("target/composed");
    std::fs::create_dir_all(&out)?;
    for world in [World::Hijack, World::HijackP3] {
        let built = hijack_build::build_component(root, world)?;
        let library = out.join(format!("{}.wasm", world.name()));
        std::fs::copy(&built.path, &library)
            .with_context(|| format!("copy {}", built.path.display()))?;
    }
    for example in &examples {
        let app = target_dir
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", example.file));
        let library = out.join(format!("{}.wasm", example.world.name()));
        let composed = out.join(format!("{}.wasm", example.name));
        plug(root, &app, &library, &composed)
            .with_context(|| format!("compose {} with the component", example.name))?;
    }
    let names: Vec<_> = examples.iter().map(|e| e.name.as_str()).collect();
    eprintln!(
        "examples: composed into {} (hijack.wasm, hijack-p3.wasm, {}.wasm)",
        out.display(),
        names.join(".wasm, ")
    );
    Ok(())
}

/// The examples of the workspace at `manifest`: each member's `bin` or `cdylib` target.
fn list(manifest: &Path) -> Result<Vec<Example>> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .context("run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let mut examples = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let world = match package["metadata"]["hijack"]["component"].as_str() {
            None | Some("hijack") => World::Hijack,
            Some("hijack-p3") => World::HijackP3,
            Some(other) => bail!("{}: unknown component {other:?}", package["name"]),
        };
        for target in package["targets"].as_array().into_iter().flatten() {
            let kinds = target["kind"].as_array().into_iter().flatten();
            let component = kinds
                .filter_map(|k| k.as_str())
                .any(|k| k == "bin" || k == "cdylib");
            if let (true, Some(name)) = (component, target["name"].as_str()) {
                examples.push(Example {
                    file: if is_bin(target) {
                        name.to_owned()
                    } else {
                        name.replace('-', "_")
                    },
                    name: name.replace('_', "-"),
                    world,
                });
            }
        }
    }
    examples.sort_by(|a, b| a.name.cmp(&b.name));
    if examples.is_empty() {
        bail!("{} lists no example", manifest.display());
    }
    Ok(examples)
}

/// Whether a target is a `bin` (cargo keeps a bin's `-`; a library's file has `_`).
fn is_bin(target: &serde_json::Value) -> bool {
    target["kind"]
        .as_array()
        .is_some_and(|k| k.iter().any(|k| k == "bin"))
}

/// `app` with its imports of the library's exports satisfied by `library`, and the app's
/// exports exported: what `wac plug APP --plug LIBRARY` writes, done by `wasm-tools compose`
/// (prebuilt, installed by scripts/tools into tools/bin; its notice that wac is the newer tool
/// is shown only when it fails).
fn plug(root: &Path, app: &Path, library: &Path, out: &Path) -> Result<()> {
    let prebuilt = root.join("tools/bin/wasm-tools");
    let tool = if prebuilt.exists() {
        prebuilt
    } else {
        "wasm-tools".into()
    };
    let run = Command::new(&tool)
        .arg("compose")
        .arg(app)
        .arg("-d")
        .arg(library)
        .arg("-o")
        .arg(out)
        .output()
        .with_context(|| format!("run {} (bash scripts/tools installs it)", tool.display()))?;
    if !run.status.success() {
        bail!(
            "wasm-tools compose {}: {}",
            app.display(),
            String::from_utf8_lossy(&run.stderr).trim()
        );
    }
    Ok(())
}
