//! Processes under a bound: spawned with their output collected as it comes (a full pipe never
//! stalls them), waited on within a limit, killed (and reaped) when the test ends however it
//! ends.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::panic::Location;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A child process whose stdout and stderr are collected as they come; killed and reaped
/// on drop.
pub struct Proc {
    child: Child,
    what: String,
    /// Its stdin when spawned with [`Proc::spawn_with_stdin`]; dropping it is EOF.
    pub stdin: Option<ChildStdin>,
    pipes: Arc<Pipes>,
}

/// What the drain threads collected, and how many of the two pipes are still open.
struct Pipes {
    state: Mutex<Collected>,
    changed: Condvar,
}

#[derive(Default)]
struct Collected {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    open: usize,
}

impl Proc {
    /// Spawn `cmd` with stdin from /dev/null.
    #[track_caller]
    pub fn spawn(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::null());
        Self::start(cmd)
    }

    /// Spawn `cmd` with its stdin a pipe, held in [`Proc::stdin`].
    #[track_caller]
    pub fn spawn_with_stdin(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::piped());
        Self::start(cmd)
    }

    #[track_caller]
    fn start(mut cmd: Command) -> Self {
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let pipes = Arc::new(Pipes {
            state: Mutex::new(Collected {
                open: 2,
                ..Collected::default()
            }),
            changed: Condvar::new(),
        });
        let drain = |mut pipe: Box<dyn Read + Send>, stderr: bool| {
            let pipes = Arc::clone(&pipes);
            thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    let n = pipe.read(&mut buf).unwrap_or(0);
                    let mut got = pipes.state.lock().expect("pipes");
                    if n == 0 {
                        got.open -= 1;
                    } else if stderr {
                        got.stderr.extend_from_slice(&buf[..n]);
                    } else {
                        got.stdout.extend_from_slice(&buf[..n]);
                    }
                    pipes.changed.notify_all();
                    if n == 0 {
                        break;
                    }
                }
            });
        };
        drain(Box::new(child.stdout.take().expect("stdout")), false);
        drain(Box::new(child.stderr.take().expect("stderr")), true);
        let stdin = child.stdin.take();
        Self {
            child,
            what,
            stdin,
            pipes,
        }
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its stdout so far.
    pub fn stdout(&self) -> Vec<u8> {
        self.pipes.state.lock().expect("pipes").stdout.clone()
    }

    /// Its stderr so far, as text (for failure messages).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.pipes.state.lock().expect("pipes").stderr).into_owned()
    }

    /// Its stdout and stderr so far, as text (for failure messages).
    pub fn log(&self) -> String {
        let got = self.pipes.state.lock().expect("pipes");
        format!(
            "stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&got.stderr)
        )
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Wait until `found` finds what it looks for in the stdout and stderr so far, each time
    /// either grows, within `limit`. Both closed without it (the process exited), or the limit
    /// passed, fails the test with what the process printed.
    #[track_caller]
    pub fn wait_for<T>(
        &self,
        what: &str,
        limit: Duration,
        mut found: impl FnMut(&[u8], &[u8]) -> Option<T>,
    ) -> T {
        let at = Location::caller();
        let deadline = Instant::now() + limit;
        let mut got = self.pipes.state.lock().expect("pipes");
        loop {
            if let Some(value) = found(&got.stdout, &got.stderr) {
                return value;
            }
            let why = if got.open == 0 {
                "its output closed (it exited)".to_string()
            } else if Instant::now() >= deadline {
                format!("{limit:?} passed")
            } else {
                let left = deadline.saturating_duration_since(Instant::now());
                got = self.pipes.changed.wait_timeout(got, left).expect("pipes").0;
                continue;
            };
            panic!(
                "{} did not print {what} ({why}; the wait at {at});\nstdout: {}\nstderr: {}",
                self.what,
                String::from_utf8_lossy(&got.stdout),
                String::from_utf8_lossy(&got.stderr)
            );
        }
    }

    /// Its first stdout line (without the LF), within `limit`.
    #[track_caller]
    pub fn first_line(&self, limit: Duration) -> String {
        self.wait_for("a line", limit, |out, _| {
            let end = out.iter().position(|&b| b == b'\n')?;
            Some(String::from_utf8_lossy(&out[..end]).into_owned())
        })
    }

    /// Wait for it to exit within `limit` (else it is killed and the test fails with its
    /// stderr), then for its output to close within what is left; its status and output.
    #[track_caller]
    pub fn wait(mut self, limit: Duration) -> Output {
        let at = Location::caller();
        let deadline = Instant::now() + limit;
        let status: ExitStatus = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} did not exit within {limit:?} (the wait at {at}); stderr: {}",
                    self.what,
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(10));
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let mut got = self.pipes.state.lock().expect("pipes");
        got = self
            .pipes
            .changed
            .wait_timeout_while(got, left, |got| got.open > 0)
            .expect("pipes")
            .0;
        assert_eq!(
            got.open, 0,
            "{} exited but its output stayed open (a child of its holds it?)",
            self.what
        );
        Output {
            status,
            stdout: std::mem::take(&mut got.stdout),
            stderr: std::mem::take(&mut got.stderr),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `cmd` with `stdin` fed and closed, its stdout and stderr drained as they come (so a
/// full pipe never stalls it); a run longer than `limit` is killed and fails the test.
#[track_caller]
pub fn run_bounded(cmd: Command, stdin: &[u8], limit: Duration) -> Output {
    run_bounded_stdin(cmd, stdin, true, limit)
}

/// [`run_bounded`], with stdin closed after `stdin` only if `close` (else it stays open until
/// the process exits: no EOF, no half-close).
#[track_caller]
pub fn run_bounded_stdin(cmd: Command, stdin: &[u8], close: bool, limit: Duration) -> Output {
    let mut proc = Proc::spawn_with_stdin(cmd);
    let mut input = proc.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let (exited, wait_exit) = std::sync::mpsc::channel::<()>();
    thread::spawn(move || {
        let _ = input.write_all(&data);
        if !close {
            // Held open until the process exits (the sender is dropped then).
            let _ = wait_exit.recv();
        }
    });
    let out = proc.wait(limit);
    drop(exited);
    out
}

/// Start a server process and read its first stdout line, `listening on IP:PORT`, within
/// `limit`. A process that exits or stays silent fails the test.
#[track_caller]
pub fn listening(cmd: Command, limit: Duration) -> (Proc, SocketAddr) {
    let proc = Proc::spawn(cmd);
    let line = proc.first_line(limit);
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{}: first line was {line:?}", proc.what))
        .parse()
        .expect("IP:PORT");
    (proc, addr)
}
