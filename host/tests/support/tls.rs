//! What the TLS tests share: certificates made at run time (rcgen, on ring like the host's
//! TLS) and written as PEM files in a directory of their own per test, and the Python peers of
//! `tests/peers/` started under a bound, their JSON-line logs read back.

use super::{LIMIT, Proc, listening};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The common name of [`Pki::client_cert`].
pub const CLIENT_CN: &str = "hijack-test-client";

/// A server CA and a server certificate for `localhost` and `127.0.0.1` signed by it; a
/// second CA, for clients, and a client certificate signed by that one. Every path is a PEM
/// file in [`Pki::dir`].
pub struct Pki {
    /// The directory of this test's files (fresh, no other test's, removed on drop).
    pub dir: PathBuf,
    /// The CA that issued the server's certificate.
    pub ca: PathBuf,
    /// The server's certificate (`localhost`, `127.0.0.1`).
    pub server_cert: PathBuf,
    /// The server's key.
    pub server_key: PathBuf,
    /// The CA that issued the client's certificate (the server trusts it for mutual TLS).
    pub client_ca: PathBuf,
    /// The client's certificate, CN [`CLIENT_CN`].
    pub client_cert: PathBuf,
    /// The client's key.
    pub client_key: PathBuf,
}

/// A fresh directory under cargo's scratch directory for integration tests, named after
/// `test` and unique within the run and among runs at once.
pub fn scratch_dir(test: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("tls")
        .join(format!("{test}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A CA named `name`: its certificate in PEM, and what signs with it.
fn new_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("CA certificate");
    (cert.pem(), Issuer::new(params, key))
}

/// A leaf certificate for `names` with `cn` and `usage`, signed by `issuer`: (cert, key) PEM.
fn leaf(
    names: &[&str],
    cn: &str,
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> (String, String) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("leaf params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("leaf certificate");
    (cert.pem(), key.serialize_pem())
}

/// Fresh certificates and keys for `test`, written into their own directory.
pub fn pki(test: &str) -> Pki {
    let dir = scratch_dir(test);
    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    };
    let (ca_pem, server_ca) = new_ca("hijack test server CA");
    let (server_cert, server_key) = leaf(
        &["localhost", "127.0.0.1"],
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
        &server_ca,
    );
    let (client_ca_pem, client_ca) = new_ca("hijack test client CA");
    let (client_cert, client_key) = leaf(
        &[],
        CLIENT_CN,
        ExtendedKeyUsagePurpose::ClientAuth,
        &client_ca,
    );
    Pki {
        ca: write("ca.pem", &ca_pem),
        server_cert: write("server.pem", &server_cert),
        server_key: write("server-key.pem", &server_key),
        client_ca: write("client-ca.pem", &client_ca_pem),
        client_cert: write("client.pem", &client_cert),
        client_key: write("client-key.pem", &client_key),
        dir,
    }
}

impl Drop for Pki {
    /// The test's files go with it (a failing test's too: the keys are made anew each run).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The peer script `name` in `tests/peers/`.
pub fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// `python3 tests/peers/SCRIPT ARGS`, started and its `listening on IP:PORT` read (bounded);
/// killed when the returned [`Proc`] is dropped.
#[track_caller]
pub fn python_peer<S: AsRef<std::ffi::OsStr>>(script: &str, args: &[S]) -> (Proc, SocketAddr) {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg(peer_script(script)).args(args);
    listening(cmd, LIMIT)
}

/// The JSON objects a peer printed after its first line (one a line), so far.
fn events(out: &[u8]) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(out);
    text.lines()
        .skip(1)
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Wait (bounded) for the peer's event on connection `conn` that has the field `key`; the
/// whole event. An `error` event on that connection instead fails the test with it, unless
/// `key` is `error`.
#[track_caller]
pub fn wait_event(peer: &Proc, conn: u64, key: &str) -> serde_json::Value {
    let at = std::panic::Location::caller();
    peer.wait_for(&format!("{key:?} on connection {conn}"), LIMIT, |out, _| {
        events(out)
            .into_iter()
            .filter(|e| e["conn"] == conn)
            .find_map(|e| {
                if e.get(key).is_some() {
                    Some(e)
                } else if e.get("error").is_some() {
                    panic!("peer: {} (waiting for {key:?}, at {at})", e["error"]);
                } else {
                    None
                }
            })
    })
}

/// The events the peer printed so far on connection `conn`.
pub fn events_of(peer: &Proc, conn: u64) -> Vec<serde_json::Value> {
    events(&peer.stdout())
        .into_iter()
        .filter(|e| e["conn"] == conn)
        .collect()
}
