//! A real Docker Engine for the tests (Debian's `docker.io`, installed by `scripts/setup`):
//! a `dockerd` of the test's own — its own data and exec roots and its unix socket in a fresh
//! directory under /tmp, never the system's — plus, when asked, a TCP endpoint with mutual
//! TLS made from the test's certificates. An image is made without any registry from
//! `busybox-static`'s binary. Dropping it removes its containers, stops the daemon by its
//! process id and kills what is left of what it started (containerd and its shims), each
//! wait bounded.
//!
//! Without root or without `dockerd`, [`Dockerd::start`] says so in one line and gives
//! `None`; with `HIJACK_REQUIRE_DOCKER=1` (set by `scripts/test` when it runs as root, as CI
//! does) it fails the test instead, so the Docker tests never pass without running.

use super::{LIMIT, Proc};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The image every container runs: busybox, imported from a tar.
pub const IMAGE: &str = "hijack-busybox:test";

/// Mutual TLS on a TCP endpoint: the daemon's certificate and key, and the CA whose client
/// certificates it accepts (Docker's `--tlsverify --tlscacert --tlscert --tlskey`).
pub struct DaemonTls<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    pub client_ca: &'a Path,
}

/// A running dockerd of the test's own.
pub struct Dockerd {
    proc: Option<Proc>,
    pid: u32,
    /// The directory holding everything it writes (under /tmp: unix socket paths are short).
    pub dir: PathBuf,
    /// Its unix socket.
    pub sock: PathBuf,
    /// Its TCP endpoint, if started with one.
    pub tcp: Option<SocketAddr>,
    containers: Mutex<Vec<String>>,
}

/// Why the Docker tests cannot run here, if they cannot.
fn missing() -> Option<&'static str> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    let has = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !root {
        Some("dockerd needs root")
    } else if !has("dockerd") {
        Some("dockerd is not installed (scripts/setup installs Debian's docker.io)")
    } else if !Path::new("/bin/busybox").exists() {
        Some("/bin/busybox is not installed (Debian's busybox-static)")
    } else {
        None
    }
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl Dockerd {
    /// Start one (unix socket; and a TCP endpoint with mutual TLS when `tls` is given), wait
    /// until it answers `/_ping`, and import [`IMAGE`].
    #[track_caller]
    pub fn start(test: &str, tls: Option<DaemonTls<'_>>) -> Option<Self> {
        if let Some(why) = missing() {
            assert!(
                std::env::var_os("HIJACK_REQUIRE_DOCKER").is_none_or(|v| v != "1"),
                "the Docker tests must run here (HIJACK_REQUIRE_DOCKER=1), but {why}"
            );
            eprintln!("docker: {test}: SKIPPED: {why}");
            return None;
        }
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = PathBuf::from(format!("/tmp/hijack-dockerd-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["data", "exec", "image/bin"] {
            std::fs::create_dir_all(dir.join(sub)).expect("dockerd directories");
        }
        let sock = dir.join("docker.sock");
        let mut cmd = Command::new("dockerd");
        cmd.arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .args([
                "--storage-driver",
                "vfs",
                "--iptables=false",
                "--ip6tables=false",
            ])
            .args(["--bridge=none", "--log-level", "warn"]);
        let tcp = tls.map(|tls| {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            cmd.arg("-H")
                .arg(format!("tcp://{addr}"))
                .arg("--tlsverify")
                .arg("--tlscacert")
                .arg(tls.client_ca)
                .arg("--tlscert")
                .arg(tls.cert)
                .arg("--tlskey")
                .arg(tls.key);
            addr
        });
        let proc = Proc::spawn(cmd);
        let pid = proc.id();
        let d = Self {
            proc: Some(proc),
            pid,
            dir,
            sock,
            tcp,
            containers: Mutex::new(Vec::new()),
        };
        let deadline = Instant::now() + LIMIT;
        while d
            .try_api("GET", "/_ping", None)
            .is_none_or(|(s, _)| s != 200)
        {
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer /_ping within {LIMIT:?}: {}",
                d.proc.as_ref().map(Proc::log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        d.import_image();
        Some(d)
    }

    /// `busybox` alone in a tar, imported as [`IMAGE`] (no registry).
    fn import_image(&self) {
        let root = self.dir.join("image");
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("copy busybox");
        let tar = self.dir.join("image.tar");
        let ok = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tar of the image");
        let body = std::fs::read(&tar).expect("image tar");
        let (repo, tag) = IMAGE.split_once(':').expect("name:tag");
        let (status, answer) = self.request(
            "POST",
            &format!("/images/create?fromSrc=-&repo={repo}&tag={tag}"),
            Some(("application/x-tar", &body)),
        );
        assert_eq!(status, 200, "image import: {answer}");
    }

    /// One API call over the unix socket, HTTP/1.0 (the daemon answers and closes):
    /// `None` if the socket is not there yet.
    fn try_api(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> Option<(u16, String)> {
        let mut s = UnixStream::connect(&self.sock).ok()?;
        s.set_read_timeout(Some(LIMIT)).ok()?;
        s.set_write_timeout(Some(LIMIT)).ok()?;
        let mut head = format!("{method} {path} HTTP/1.0\r\nHost: docker\r\n");
        if let Some((kind, bytes)) = body {
            head.push_str(&format!(
                "Content-Type: {kind}\r\nContent-Length: {}\r\n",
                bytes.len()
            ));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).ok()?;
        if let Some((_, bytes)) = body {
            s.write_all(bytes).ok()?;
        }
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).ok()?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text.get(9..12)?.parse().ok()?;
        let body = text
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_string());
        Some((status, body))
    }

    /// One API call; its status and body.
    #[track_caller]
    pub fn request(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> (u16, String) {
        self.try_api(method, path, body)
            .unwrap_or_else(|| panic!("dockerd: {method} {path} failed"))
    }

    /// `POST path` with a JSON body; the `Id` of what it created.
    #[track_caller]
    fn create_json(&self, path: &str, json: &str) -> String {
        let (status, answer) =
            self.request("POST", path, Some(("application/json", json.as_bytes())));
        assert_eq!(status, 201, "POST {path}: {answer}");
        let v: serde_json::Value = serde_json::from_str(&answer).expect("JSON answer");
        v["Id"].as_str().expect("Id").to_string()
    }

    /// A container of [`IMAGE`] running `cmd` (no network); `extra` adds fields to the
    /// create body (e.g. `"OpenStdin":true`). Removed when the daemon is dropped.
    #[track_caller]
    pub fn create(&self, cmd: &[&str], extra: &str) -> String {
        let cmd = serde_json::to_string(cmd).expect("cmd");
        let sep = if extra.is_empty() { "" } else { "," };
        let id = self.create_json(
            "/containers/create",
            &format!(
                r#"{{"Image":"{IMAGE}","Cmd":{cmd},"HostConfig":{{"NetworkMode":"none"}}{sep}{extra}}}"#
            ),
        );
        self.containers.lock().expect("containers").push(id.clone());
        id
    }

    /// Start container `id`.
    #[track_caller]
    pub fn start_container(&self, id: &str) {
        let (status, answer) = self.request("POST", &format!("/containers/{id}/start"), None);
        assert_eq!(status, 204, "start {id}: {answer}");
    }

    /// An exec instance in container `id` running `cmd` with stdin, stdout and stderr.
    #[track_caller]
    pub fn exec(&self, id: &str, cmd: &[&str]) -> String {
        let cmd = serde_json::to_string(cmd).expect("cmd");
        self.create_json(
            &format!("/containers/{id}/exec"),
            &format!(
                r#"{{"AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"Cmd":{cmd}}}"#
            ),
        )
    }

    /// `docker -H unix://SOCK ARGS` when the docker CLI is here (the CLI comes with
    /// `docker.io`): its output, or `None` without the CLI.
    pub fn cli(&self, args: &[&str], stdin: &[u8]) -> Option<std::process::Output> {
        Command::new("docker").arg("--version").output().ok()?;
        let mut cmd = Command::new("docker");
        cmd.arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args);
        Some(super::run_bounded(cmd, stdin, LIMIT))
    }
}

/// Every process whose command line names `dir` (containerd and its shims, started by the
/// daemon with paths under its exec root).
fn processes_under(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
        })
        .collect()
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // The containers first (killed, removed), so that the daemon stops at once.
        let ids = std::mem::take(&mut *self.containers.lock().unwrap_or_else(|e| e.into_inner()));
        for id in ids {
            let _ = self.try_api("DELETE", &format!("/containers/{id}?force=1"), None);
        }
        signal(self.pid, "-TERM");
        let deadline = Instant::now() + LIMIT;
        if let Some(proc) = &mut self.proc {
            while proc.running() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // Whatever is left (a daemon that did not stop, containerd, shims) is killed.
        drop(self.proc.take());
        for pid in processes_under(&self.dir) {
            signal(pid, "-KILL");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
