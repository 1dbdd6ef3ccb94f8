//! The component compiled once and cached between runs of the CLI (`HIJACK_CACHE_DIR`): reused,
//! replaced when corrupt, off when empty.

use super::{BIN, text};
use crate::support::{LIMIT, refused, run_bounded};
use std::process::Command;

#[test]
fn the_compiled_component_is_cached_between_runs_and_a_bad_cache_is_replaced() {
    let dir = std::env::temp_dir().join(format!("hijack-cli-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Refused for sure: a port held by a socket that does not listen.
    let closed = refused();
    let url = format!("http://{}/", closed.addr);
    let run = |cache: &std::path::Path| {
        let mut cmd = Command::new(BIN);
        cmd.args(["dial", &url]).env("HIJACK_CACHE_DIR", cache);
        let out = run_bounded(cmd, b"", LIMIT);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("connection-refused"),
            "{}",
            text(&out.stderr)
        );
    };
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.expect("entry").path()).collect())
            .unwrap_or_default()
    };
    run(&dir);
    let files = entries();
    assert_eq!(files.len(), 1, "one compiled file: {files:?}");
    let compiled = std::fs::read(&files[0]).expect("read");
    run(&dir);
    assert_eq!(entries(), files, "reused, nothing new");

    std::fs::write(&files[0], b"garbage").expect("corrupt the cache");
    run(&dir);
    assert_eq!(
        std::fs::read(&files[0]).expect("read"),
        compiled,
        "replaced"
    );

    // An empty HIJACK_CACHE_DIR turns the cache off.
    std::fs::remove_dir_all(&dir).expect("clean");
    run(std::path::Path::new(""));
    assert!(!dir.exists());
}
