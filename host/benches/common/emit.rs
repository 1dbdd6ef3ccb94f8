//! Where a bench's rows go: one JSON object a line in `<rows_dir>/<bench>.jsonl`, for
//! `host/benches/report.py`, and a readable line each on stdout.
//!
//! This module writes rows; what a row holds and its JSON form are `row`'s.

use std::io::Write as _;
use std::path::PathBuf;

use super::row::Row;

/// Where rows go: `HIJACK_BENCH_ROWS`, else `target/bench-rows` at the workspace root.
pub fn rows_dir() -> PathBuf {
    std::env::var_os("HIJACK_BENCH_ROWS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
                .join("bench-rows")
        })
}

/// Print the rows and write them, one JSON object a line, to `<rows_dir>/<bench>.jsonl`
/// (replacing what an earlier run of this bench left).
pub fn emit(bench: &str, rows: &[Row]) {
    let dir = rows_dir();
    std::fs::create_dir_all(&dir).expect("create the rows directory");
    let path = dir.join(format!("{bench}.jsonl"));
    let mut file = std::fs::File::create(&path).expect("create the rows file");
    for row in rows {
        writeln!(file, "{}", row.to_json(bench)).expect("write a row");
        let ratio = row
            .ratio()
            .map(|r| format!("  ratio {r:.2}x"))
            .unwrap_or_default();
        let goal = match row.meets_goal() {
            Some(true) => "  (meets goal)",
            Some(false) => "  (MISSES goal)",
            None => "",
        };
        let peer = row
            .peer
            .map(|p| format!("  {}: {}", row.peer_name_or("peer"), fmt_num(p)))
            .unwrap_or_default();
        let floor = row
            .floor
            .map(|f| format!("  {}: {}", row.floor_name, fmt_num(f)))
            .unwrap_or_default();
        println!(
            "  {}: ours {} {}{peer}{floor}{ratio}{goal}",
            row.name,
            fmt_num(row.ours),
            row.unit
        );
    }
    println!("rows: {}", path.display());
}

/// A number for the console: three significant digits or so, whatever its size.
pub fn fmt_num(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// `12345` as `12,345`, for row names.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
