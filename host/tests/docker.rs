//! `hijack dial` against a real Docker Engine (`support::docker`: Debian's dockerd 20.10 of
//! the test's own): attach and exec over its unix socket, and over TCP with mutual TLS
//! (Docker's `--tlsverify`), compared byte for byte with what the docker CLI prints for the
//! same container. Every wait is bounded.

use crate::support::docker::{DaemonTls, Dockerd};
use crate::support::tls::pki;
use crate::support::{LIMIT, Proc, run_bounded};
use std::io::Write;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hijack");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Docker's stdcopy frame: stream, three zero bytes, the big-endian length, the payload.
fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![stream, 0, 0, 0];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn attach_and_exec_over_dockers_unix_socket_and_its_tls_port() {
    let pki = pki("docker");
    let tls = DaemonTls {
        cert: &pki.server_cert,
        key: &pki.server_key,
        client_ca: &pki.client_ca,
    };
    let Some(docker) = Dockerd::start("attach-exec", Some(tls)) else {
        return;
    };
    let sock = docker.sock.display().to_string();

    // Attach as `docker start -ai` does: attach first, then start; stdin's EOF ends `cat`.
    let id = docker.create(
        &["/bin/busybox", "cat"],
        r#""OpenStdin":true,"StdinOnce":true,"AttachStdin":true,"AttachStdout":true,"AttachStderr":true"#,
    );
    let mut cmd = Command::new(BIN);
    cmd.args(["dial", "--unix-socket", &sock, "-X", "POST"])
        .arg(format!(
            "http://docker/containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1"
        ));
    let mut attach = Proc::spawn_with_stdin(cmd);
    attach.wait_for("the 101", LIMIT, |_, err| {
        String::from_utf8_lossy(err)
            .contains("\r\n\r\n")
            .then_some(())
    });
    assert!(
        attach.stderr().starts_with("HTTP/1.1 101 UPGRADED\r\n"),
        "{}",
        attach.stderr()
    );
    docker.start_container(&id);
    let mut stdin = attach.stdin.take().expect("stdin");
    stdin.write_all(b"hello docker\n").expect("stdin");
    drop(stdin);
    let out = attach.wait(LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Without --stdcopy the bytes are the daemon's, framed as it framed them.
    assert_eq!(out.stdout, frame(1, b"hello docker\n"));

    // The same container's output through the docker CLI, and through our attach with
    // logs=1 over TCP with mutual TLS, demultiplexed: the same bytes.
    if let Some(logs) = docker.cli(&["logs", &id], b"") {
        assert_eq!(logs.stdout, b"hello docker\n", "{}", text(&logs.stderr));
    }
    let tcp = docker.tcp.expect("the TLS endpoint");
    let url = format!(
        "https://localhost:{}/containers/{id}/attach?logs=1&stream=0&stdout=1&stderr=1",
        tcp.port()
    );
    let tls_args = [
        "--cacert",
        &pki.ca.display().to_string(),
        "--cert",
        &pki.client_cert.display().to_string(),
        "--key",
        &pki.client_key.display().to_string(),
    ];
    let mut cmd = Command::new(BIN);
    cmd.args(["dial", "-X", "POST", "--stdcopy", &url])
        .args(tls_args);
    let out = run_bounded(cmd, b"", LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"hello docker\n");
    // Without the client certificate dockerd refuses the handshake: one line, exit 2.
    let mut cmd = Command::new(BIN);
    cmd.args(["dial", "-X", "POST", &url, "--cacert"])
        .arg(&pki.ca);
    let out = run_bounded(cmd, b"", LIMIT);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("tls: "), "{err}");
    assert_eq!(out.stdout, b"");

    // Exec as `docker exec -i` does: create, then start with its JSON body and Upgrade: tcp.
    let running = docker.create(&["/bin/busybox", "sleep", "60"], "");
    docker.start_container(&running);
    let script = ["/bin/busybox", "sh", "-c", "cat; echo to-stderr >&2"];
    let exec = docker.exec(&running, &script);
    let mut cmd = Command::new(BIN);
    cmd.args(["dial", "--unix-socket", &sock, "--stdcopy"])
        .args(["--json", r#"{"Detach":false,"Tty":false}"#])
        .arg(format!("http://docker/exec/{exec}/start"));
    let out = run_bounded(cmd, b"via exec\n", LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"via exec\n");
    let err = text(&out.stderr);
    let (head, rest) = err.split_once("\r\n\r\n").expect("the head on stderr");
    assert!(head.starts_with("HTTP/1.1 101 UPGRADED\r\n"), "{head}");
    assert_eq!(rest, "to-stderr\n");
    // The docker CLI on the same container, the same command: the same bytes.
    let mut args = vec!["exec", "-i", running.as_str()];
    args.extend(script);
    if let Some(cli) = docker.cli(&args, b"via exec\n") {
        assert_eq!(cli.stdout, out.stdout, "{}", text(&cli.stderr));
        assert_eq!(text(&cli.stderr), rest);
    }
}
