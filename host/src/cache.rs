//! Machine code compiled by an earlier run, kept on disk: a CLI that recompiles the component
//! on every start pays ~0.1-0.3 s before its first byte.
//!
//! One file per (component, engine configuration, wasmtime version), named by a SHA-1 of the
//! three, written whole (a temporary file, then a rename) so a reader never sees half of one.
//! A file that is missing, unreadable or refused by wasmtime (another version, another
//! configuration, corrupt) is compiled again and replaced: the cache can only save time.

use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The cache directory: `$HIJACK_CACHE_DIR`, else `$XDG_CACHE_HOME/hijack`, else
/// `$HOME/.cache/hijack`; `None` (no caching) when none is set or `HIJACK_CACHE_DIR` is empty.
pub fn default_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = std::env::var_os("HIJACK_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    if let Some(xdg) = var("XDG_CACHE_HOME") {
        return Some(PathBuf::from(xdg).join("hijack"));
    }
    var("HOME").map(|home| PathBuf::from(home).join(".cache/hijack"))
}

/// The file that holds `bytes` compiled by `engine`, in `dir`.
pub fn entry(dir: &Path, engine: &Engine, bytes: &[u8]) -> PathBuf {
    let mut key = sha1_smol::Sha1::new();
    key.update(bytes);
    let mut config = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut config);
    key.update(&std::hash::Hasher::finish(&config).to_le_bytes());
    key.update(env!("CARGO_PKG_VERSION").as_bytes());
    dir.join(format!("hijack-{}.cwasm", key.digest()))
}

/// `bytes` compiled by `engine`: from the cache in `dir` when it holds them, else compiled
/// and stored there (a failure to store is ignored: the next run compiles again).
pub fn load_or_compile(engine: &Engine, bytes: &[u8], dir: &Path) -> wasmtime::Result<Component> {
    let path = entry(dir, engine, bytes);
    if let Ok(component) = deserialize_file(engine, &path) {
        return Ok(component);
    }
    let compiled = engine.precompile_component(bytes)?;
    let _ = store(dir, &path, &compiled);
    deserialize(engine, &compiled)
}

/// Write `compiled` to `path` whole: a temporary file in the same directory, then a rename.
fn store(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, compiled)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

// SAFETY (both functions below): wasmtime trusts serialized machine code, so it must come from
// `Engine::precompile_component` of a compatible engine and be unaltered. Here it does: the
// bytes are the ones just compiled, or a file this module wrote (whole, by rename) under a name
// derived from the component, the engine's configuration and this crate's version, in a
// directory of the user running it. wasmtime itself refuses a file from another version or
// configuration (its header is checked). Anyone able to write that directory can already run
// code as that user; `HIJACK_CACHE_DIR=` (empty) turns the cache off.
#[allow(unsafe_code)]
fn deserialize_file(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    unsafe { Component::deserialize_file(engine, path) }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, compiled: &[u8]) -> wasmtime::Result<Component> {
    unsafe { Component::deserialize(engine, compiled) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hijack-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn compiles_once_then_loads_and_survives_a_corrupt_file() {
        let engine = Engine::default();
        let bytes = crate::COMPONENT;
        let dir = tempdir("roundtrip");
        let path = entry(&dir, &engine, bytes);
        assert!(!path.exists());
        load_or_compile(&engine, bytes, &dir).expect("compile and store");
        let stored = std::fs::read(&path).expect("the compiled file");
        load_or_compile(&engine, bytes, &dir).expect("load");
        assert_eq!(std::fs::read(&path).expect("unchanged"), stored);

        std::fs::write(&path, b"not machine code").expect("corrupt it");
        load_or_compile(&engine, bytes, &dir).expect("compiled again");
        assert_eq!(std::fs::read(&path).expect("replaced"), stored);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_name_depends_on_the_component_and_the_engine() {
        let dir = Path::new("/x");
        let engine = Engine::default();
        let a = entry(dir, &engine, b"one");
        assert_eq!(a, entry(dir, &engine, b"one"));
        assert_ne!(a, entry(dir, &engine, b"two"));
        let mut config = wasmtime::Config::new();
        config.cranelift_opt_level(wasmtime::OptLevel::None);
        let other = Engine::new(&config).expect("engine");
        assert_ne!(a, entry(dir, &other, b"one"));
    }
}
