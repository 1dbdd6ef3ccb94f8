//! `hijack serve` behind real reverse proxies (Debian's nginx and haproxy, installed by
//! `scripts/setup`): an upgrade and a WebSocket session (Python's `websockets`) passed
//! through nginx both ways, its health answer through
//! nginx, and haproxy's `option httpchk` keeping a `--health` server UP (and marking one
//! without it DOWN, as before). Every wait is bounded; each proxy is stopped by its process
//! id (the `Proc` kills it when the test ends).

use crate::cli::serve;
use crate::support::tls::scratch_dir;
use crate::support::{LIMIT, Proc, run_bounded};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hijack");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A loopback port nobody listens on now (the proxy binds it a moment later).
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// Whether `tool` is installed; if not, one line says the test is skipped (scripts/setup
/// installs both proxies; `HIJACK_REQUIRE_PROXIES=1` makes a missing one fail).
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("HIJACK_REQUIRE_PROXIES").is_none_or(|v| v != "1"),
            "{tool} is not installed (scripts/setup installs it)"
        );
        eprintln!("reverse_proxy: SKIPPED: {tool} is not installed");
    }
    found
}

/// Wait (bounded) until something accepts connections at `addr`.
fn wait_listening(addr: SocketAddr, proc: &Proc) {
    let deadline = Instant::now() + LIMIT;
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens at {addr}: {}",
            proc.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// nginx in the foreground with `conf` as its whole configuration, all its files in `dir`.
fn nginx(dir: &Path, server: &str) -> Proc {
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{}}\nhttp {{\n access_log off;\n client_body_temp_path {d}/body;\n \
         proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n \
         uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{server}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).expect("nginx.conf");
    let mut cmd = Command::new("nginx");
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"));
    Proc::spawn(cmd)
}

#[test]
fn serve_behind_nginx_upgrades_and_answers_health_checks() {
    if !have("nginx") {
        return;
    }
    let (_server, upstream) = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--upgrade",
        "tcp",
        "--upgrade",
        "websocket",
        "--echo",
        "--health",
        "/healthz",
    ]);
    let dir = scratch_dir("nginx");
    let front = free_port();
    // The lines the README gives for passing upgrades through nginx.
    let server = format!(
        " map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n \
         server {{\n  listen {front};\n  location / {{\n   proxy_pass http://{upstream};\n   \
         proxy_http_version 1.1;\n   proxy_set_header Upgrade $http_upgrade;\n   \
         proxy_set_header Connection $connection_upgrade;\n   proxy_set_header Host $host;\n  }}\n }}"
    );
    let proxy = nginx(&dir, &server);
    wait_listening(front, &proxy);

    // An upgrade through nginx: the 101 as nginx relays it, then the echo. nginx closes an
    // upgraded connection when either side half-closes, so the client reads its echo before
    // it ends its input.
    let mut cmd = Command::new(BIN);
    cmd.args(["dial", &format!("http://{front}/x")]);
    let mut dial = Proc::spawn_with_stdin(cmd);
    let mut stdin = dial.stdin.take().expect("stdin");
    stdin.write_all(b"through nginx").expect("stdin");
    stdin.flush().expect("flush");
    dial.wait_for("the echo", LIMIT, |out, _| {
        (out == b"through nginx").then_some(())
    });
    drop(stdin);
    let out = dial.wait(LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let head = text(&out.stderr);
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );

    // A WebSocket client that is not ours, through nginx, to the frame echo.
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(
            "import sys\nfrom websockets.sync.client import connect\n\
             with connect('ws://%s/chat' % sys.argv[1], open_timeout=10) as ws:\n\
             \x20   ws.send('via nginx')\n\
             \x20   print(ws.recv(timeout=10), flush=True)\n",
        )
        .arg(front.to_string());
    let out = run_bounded(cmd, b"", LIMIT);
    assert_eq!(text(&out.stdout), "via nginx\n", "{}", text(&out.stderr));

    // The health answer through nginx; a plain GET elsewhere still gets its 426.
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        "10",
        &format!("http://{front}/healthz"),
    ]);
    assert_eq!(text(&run_bounded(cmd, b"", LIMIT).stdout), "ok\n");
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "10",
    ])
    .arg(format!("http://{front}/other"));
    assert_eq!(text(&run_bounded(cmd, b"", LIMIT).stdout), "426");
    drop(proxy);
}

/// `hijack dial URL` with nothing on stdin: its status and output.
fn dial_once(url: &str) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["dial", url]);
    run_bounded(cmd, b"", LIMIT)
}

#[test]
fn haproxy_httpchk_keeps_a_serve_with_health_up() {
    if !have("haproxy") {
        return;
    }
    let (_healthy, healthy_addr) =
        serve(&["--listen", "127.0.0.1:0", "--echo", "--health", "/healthz"]);
    let (_plain, plain_addr) = serve(&["--listen", "127.0.0.1:0", "--echo"]);
    let dir = scratch_dir("haproxy");
    let (front_up, front_down) = (free_port(), free_port());
    let backend = |name: &str, front: SocketAddr, server: SocketAddr| {
        format!(
            "frontend f_{name}\n bind {front}\n default_backend b_{name}\n\
             backend b_{name}\n option httpchk GET /healthz\n http-check expect status 200\n \
             server s {server} check inter 100ms fall 1 rise 1\n"
        )
    };
    let conf = format!(
        "defaults\n mode http\n timeout connect 5s\n timeout client 30s\n timeout server 30s\n \
         timeout tunnel 30s\n{}{}",
        backend("up", front_up, healthy_addr),
        backend("down", front_down, plain_addr)
    );
    let cfg = dir.join("haproxy.cfg");
    std::fs::write(&cfg, conf).expect("haproxy.cfg");
    let mut cmd = Command::new("haproxy");
    cmd.arg("-db").arg("-f").arg(&cfg);
    let proxy = Proc::spawn(cmd);
    wait_listening(front_up, &proxy);
    wait_listening(front_down, &proxy);

    // Without --health the check gets 426 and the server goes DOWN: haproxy answers 503.
    let deadline = Instant::now() + LIMIT;
    loop {
        let out = dial_once(&format!("http://{front_down}/x"));
        if out.status.code() == Some(1) && text(&out.stderr).starts_with("HTTP/1.1 503") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never marked DOWN: {}",
            proxy.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // With it, checks after checks keep it UP and upgrades go through.
    std::thread::sleep(Duration::from_millis(500));
    let out = dial_once(&format!("http://{front_up}/x"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{} {}",
        text(&out.stderr),
        proxy.log()
    );
    assert!(text(&out.stderr).starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    drop(proxy);
}
