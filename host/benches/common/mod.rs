//! What the bench binaries share: sizes from the environment (and the quick mode), the rows
//! they append to `target/bench-rows/<bench>.jsonl` for `host/benches/report.py`, statistics,
//! bounded waits, and a watchdog that fails a stuck bench instead of letting it hang.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// `HIJACK_BENCH_QUICK=1`: every size small, for a run in about two minutes.
pub fn quick() -> bool {
    std::env::var("HIJACK_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A size from the environment, else `full` (or `quick` in the quick mode).
pub fn size(key: &str, full: usize, quick_value: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(if quick() { quick_value } else { full })
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

/// Exit the process (status 2) if it is still running after `limit`: a stuck bench fails.
/// `HIJACK_BENCH_DEADLINE_S` overrides the limit.
pub fn watchdog(bench: &'static str, limit: Duration) {
    let limit = std::env::var("HIJACK_BENCH_DEADLINE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(limit);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("bench {bench}: still running after {limit:?}; giving up");
        std::process::exit(2);
    });
}

/// Every single wait in the benches is bounded by this.
pub const STEP: Duration = Duration::from_secs(20);

/// `fut`, or a panic naming `what` if it takes longer than [`STEP`].
pub async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no progress in {STEP:?}"),
    }
}

/// A current-thread tokio runtime (the shape every peer in these benches runs on).
pub fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Sorted copy, then the `q` quantile (nearest rank), in the samples' unit.
pub fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

pub fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The process's resident set size in KiB (`VmRSS`).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// The soft limit on open descriptors, from /proc.
pub fn open_files_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// CPU seconds this process has used (user + system), from /proc.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// Which way a number is better.
#[derive(Clone, Copy)]
pub enum Better {
    Lower,
    Higher,
}

/// What a goal is about: `ours / peer`, `ours` itself, or `ours - peer`.
#[derive(Clone, Copy)]
pub enum Goal {
    None,
    /// `ours / peer <= x`
    RatioAtMost(f64),
    /// `ours / peer >= x`
    RatioAtLeast(f64),
    /// `ours <= x` (in the row's unit)
    OursAtMost(f64),
    /// `ours - peer <= x` (in the row's unit)
    DiffAtMost(f64),
}

/// One row of the results: ours against a peer (and a floor, where there is one).
pub struct Row {
    pub name: String,
    pub unit: &'static str,
    pub better: Better,
    pub ours: f64,
    pub ours_name: String,
    pub peer: Option<f64>,
    pub peer_name: String,
    pub floor: Option<f64>,
    pub floor_name: String,
    pub goal: Goal,
    pub note: String,
}

impl Row {
    pub fn new(name: impl Into<String>, unit: &'static str, better: Better, ours: f64) -> Self {
        Self {
            name: name.into(),
            unit,
            better,
            ours,
            ours_name: String::new(),
            peer: None,
            peer_name: String::new(),
            floor: None,
            floor_name: String::new(),
            goal: Goal::None,
            note: String::new(),
        }
    }

    pub fn ours_is(mut self, what: impl Into<String>) -> Self {
        self.ours_name = what.into();
        self
    }

    pub fn peer(mut self, what: impl Into<String>, value: f64) -> Self {
        self.peer_name = what.into();
        self.peer = Some(value);
        self
    }

    pub fn floor(mut self, what: impl Into<String>, value: f64) -> Self {
        self.floor_name = what.into();
        self.floor = Some(value);
        self
    }

    pub fn goal(mut self, goal: Goal) -> Self {
        self.goal = goal;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        self.peer.filter(|p| *p != 0.0).map(|p| self.ours / p)
    }

    fn goal_parts(&self) -> Option<(&'static str, &'static str, f64, String)> {
        let unit = self.unit;
        match self.goal {
            Goal::None => None,
            Goal::RatioAtMost(x) => Some(("ratio", "<=", x, format!("ratio <= {x}"))),
            Goal::RatioAtLeast(x) => Some(("ratio", ">=", x, format!("ratio >= {x}"))),
            Goal::OursAtMost(x) => Some(("ours", "<=", x, format!("ours <= {x} {unit}"))),
            Goal::DiffAtMost(x) => Some((
                "diff",
                "<=",
                x,
                format!("ours <= {} + {x} {unit}", self.peer_name_or("peer")),
            )),
        }
    }

    fn peer_name_or<'a>(&'a self, default: &'a str) -> &'a str {
        if self.peer_name.is_empty() {
            default
        } else {
            &self.peer_name
        }
    }

    pub fn meets_goal(&self) -> Option<bool> {
        match self.goal {
            Goal::None => None,
            Goal::RatioAtMost(x) => self.ratio().map(|r| r <= x),
            Goal::RatioAtLeast(x) => self.ratio().map(|r| r >= x),
            Goal::OursAtMost(x) => Some(self.ours <= x),
            Goal::DiffAtMost(x) => self.peer.map(|p| self.ours - p <= x),
        }
    }

    pub fn to_json(&self, bench: &str) -> String {
        let mut s = String::from("{");
        let mut field = |k: &str, v: String| {
            if s.len() > 1 {
                s.push_str(", ");
            }
            let _ = write!(s, "{}: {v}", json_str(k));
        };
        field("bench", json_str(bench));
        field("name", json_str(&self.name));
        field("ours", json_num(Some(self.ours)));
        field("peer", json_num(self.peer));
        field("unit", json_str(self.unit));
        field("ratio", json_num(self.ratio()));
        let (on, op, value, text) = match self.goal_parts() {
            Some((on, op, value, text)) => (
                json_str(on),
                json_str(op),
                json_num(Some(value)),
                json_str(&text),
            ),
            None => ("null".into(), "null".into(), "null".into(), "null".into()),
        };
        field("goal", text);
        field(
            "meets_goal",
            match self.meets_goal() {
                Some(b) => b.to_string(),
                None => "null".into(),
            },
        );
        field("goal_on", on);
        field("goal_op", op);
        field("goal_value", value);
        field(
            "better",
            json_str(match self.better {
                Better::Lower => "lower",
                Better::Higher => "higher",
            }),
        );
        field("ours_name", json_str(&self.ours_name));
        field("peer_name", json_str(&self.peer_name));
        field("floor", json_num(self.floor));
        field("floor_name", json_str(&self.floor_name));
        field("note", json_str(&self.note));
        s.push('}');
        s
    }
}

fn json_str(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            // Enough digits for any of these numbers, and no float noise.
            let s = format!("{x:.6}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s.is_empty() || s == "-" {
                "0".into()
            } else {
                s.into()
            }
        }
        _ => "null".into(),
    }
}

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
        let line = row.to_json(bench);
        writeln!(file, "{line}").expect("write a row");
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

pub fn fmt_num(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Read an HTTP head from `s` through its blank line; `(head, bytes read past it)`.
pub async fn read_head<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        if let Some(end) = find_blank_line(&buf) {
            let rest = buf.split_off(end);
            return Ok((buf, rest));
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Run `serve` (given a channel for its address) on a thread of its own with a current-thread
/// runtime; the address and the thread's id (for its CPU time in `/proc`). Named, for a
/// profiler's view of one server (`perf report --comm NAME`).
pub fn server_thread<F, Fut>(name: &str, serve: F) -> (std::net::SocketAddr, u32)
where
    F: FnOnce(std::sync::mpsc::Sender<std::net::SocketAddr>) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tid_tx.send(thread_id());
            current_thread().block_on(serve(tx))
        })
        .expect("a server thread");
    let addr = rx.recv_timeout(STEP).expect("server address");
    let tid = tid_rx.recv_timeout(STEP).expect("thread id");
    (addr, tid)
}

/// This thread's id, from `/proc/thread-self` (`PID/task/TID`).
fn thread_id() -> u32 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
        .expect("a thread id from /proc/thread-self")
}

/// An instance of `runtime` allowed to listen on loopback only, listening on a free port with
/// `limits`: the server side of "ours" in every bench.
pub async fn loopback_listener(
    runtime: &hijack_host::Runtime,
    limits: hijack_host::Limits,
) -> (hijack_host::Instance, hijack_host::Listener) {
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let mut instance = runtime
        .instantiate(hijack_host::NetPolicy::new().allow_listen(any))
        .await
        .expect("instance");
    let listener = instance.listen(any, limits).await.expect("listen");
    (instance, listener)
}

/// The Go peers (`benches/go/hijack.go`), when `scripts/bench` could build them: the path in
/// `HIJACK_BENCH_GO`. Rows against Go are left out without it.
pub fn go_peers() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("HIJACK_BENCH_GO")?);
    path.is_file().then_some(path)
}

/// A server in a process of its own that prints `listening on ADDR` first (`hijack serve`,
/// the Go peer); killed when dropped. Its stdout is drained, its stderr discarded.
pub struct ServerProcess {
    child: std::process::Child,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
}

impl ServerProcess {
    pub fn start(mut cmd: std::process::Command) -> Self {
        use std::io::BufRead as _;
        let mut child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the server process");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let first = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("the server process printed no address in 60 s");
            }
        };
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("not an address line: {first:?}"));
        Self { child, addr }
    }
}

impl ServerProcess {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
