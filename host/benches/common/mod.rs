//! What the bench binaries share, one duty a file: how a bench runs (`run`: sizes, watchdog,
//! bounded waits, runtime), `stats`, what `/proc` says (`procfs`), result rows (`row`) and
//! where they go (`emit`: `target/bench-rows/<bench>.jsonl` for `host/benches/report.py`),
//! the native peers' head reading (`head`), the upgrade load (`load`), the hyper upgrade server (`hyper_peer`), servers in the bench process (`servers`) and in
//! processes of their own (`processes`).
//!
//! Each bench binary compiles this whole module and uses a part of it, so unused items are
//! allowed here. Nothing here measures: the benches time what they run themselves.

#![allow(dead_code, unused_imports)]

mod emit;
mod head;
mod hyper_peer;
mod load;
mod processes;
mod procfs;
mod row;
mod run;
mod servers;
mod stats;

pub use emit::{emit, fmt_num, rows_dir, thousands};
pub use head::read_head;
pub use hyper_peer::serve_upgrades;
pub use load::{handshakes, request, upgrade};
pub use processes::{ServerProcess, go_peers};
pub use procfs::{cpu_seconds, open_files_limit, rss_kib, thread_id};
pub use row::{Better, Goal, Row};
pub use run::{STEP, bounded, current_thread, quick, size, watchdog};
pub use servers::{loopback_listener, server_thread};
pub use stats::{median, quantile};
