//! Command-line parsing with clap: the structs clap fills are the commands the rest of the
//! binary runs, each option declared once, on the command that takes it.
//!
//! No I/O and no HTTP here: a URL is only split into authority and target, by the core's rule
//! for authorities; what a request means is the component's business.

use anyhow::Context;
use clap::{ArgGroup, Args, CommandFactory, Parser, Subcommand};
use hijack_proto::{Authority, parse_authority_or};
use std::net::SocketAddr;

/// Parse the process's arguments. `--help`, `--version` and usage errors are answered by clap,
/// which exits: 0 after help or the version, 2 after a usage error.
pub fn parse() -> Command {
    // No arguments at all: the help, on stdout, exit 0. A bare `hijack` is someone asking what
    // it does, not a usage error.
    if std::env::args_os().len() <= 1 {
        let _ = Cli::command().print_help();
        std::process::exit(0);
    }
    Cli::parse().command
}

/// Parse `argv` (program name first), returning clap's error instead of exiting.
#[cfg(test)]
fn try_parse_from<I, T>(argv: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(argv).map(|cli| cli.command)
}

const ABOUT: &str = "HTTP/1.1 connection hijack, the exchange run in a WebAssembly component";

const LONG_ABOUT: &str = "\
HTTP/1.1 connection hijack, the exchange run in a WebAssembly component.

  dial   ask a server to switch protocols (as `docker attach` does), then wire the
         connection to stdin/stdout
  serve  accept, switch, and echo or run a command on each connection (as `docker exec` does)
  demo   both at once, in one process, on loopback";

const EXIT_CODES: &str = "\
Exit status: 0 on success; 1 when `dial`'s peer answered but did not switch protocols;
2 on any other failure, usage errors included.";

const DIAL_LONG_ABOUT: &str = "\
Ask the server at URL to switch protocols, then wire the connection to stdin/stdout.

The response head goes to stderr; the bytes that arrived with it, then the connection, go to
stdout; stdin goes to the connection (EOF half-closes it).";

const DIAL_EXIT_CODES: &str = "\
Exit status: 0 when the peer closes (or when stdout's reader goes away, as `| head` does),
1 if it did not switch, 2 on any other failure.";

const SERVE_LONG_ABOUT: &str = "\
Accept connections, switch protocols, and echo or run a command on each.

Prints 'listening on IP:PORT' first; answers 101 to requests offering an accepted protocol
(default tcp) and 426 to others.";

#[derive(Parser)]
#[command(
    name = "hijack",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES,
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What to run.
#[derive(Subcommand)]
pub enum Command {
    /// Ask a server to switch protocols, then wire the connection to stdin/stdout
    #[command(long_about = DIAL_LONG_ABOUT, after_help = DIAL_EXIT_CODES)]
    Dial(Box<Dial>),
    /// Accept, switch, and echo or run a command on each connection
    #[command(long_about = SERVE_LONG_ABOUT)]
    Serve(Serve),
    /// Dial and serve at once, in one process, on loopback
    Demo,
}

/// `SCHEME://[USER[:PASSWORD]@]HOST[:PORT][/PATH[?QUERY]][#FRAGMENT]`, split.
#[derive(Clone, Debug, PartialEq)]
pub struct Url {
    /// The userinfo as Basic credentials (`Authorization`, or `Proxy-Authorization` when the
    /// URL is a proxy's), as curl sends them.
    pub credentials: Option<Secret>,
    pub host: String,
    pub port: u16,
    /// The request target: the path and query, `/` when the URL has neither (a fragment is
    /// the client's own and is never sent, as curl and Go do).
    pub target: String,
    /// `https` or `wss`: TLS to the origin.
    pub tls: bool,
    /// `ws` or `wss`: a WebSocket upgrade unless `--upgrade` says otherwise.
    pub websocket: bool,
}

/// `hijack dial`.
///
/// The request's own values (method, headers, body, protocol, head limits) take the next
/// argument even when it starts with '-': a body or a header value may. A flag given twice
/// keeps its last value, so a wrapper's defaults are overridden by appending.
#[derive(Args)]
#[command(args_override_self = true)]
pub struct Dial {
    /// http[s]://HOST[:PORT][/PATH[?QUERY]] or ws[s]://... (port 80, or 443 over TLS; target /)
    #[arg(value_name = "URL", value_parser = Quiet(split_url))]
    pub url: Url,
    /// Request method [default: GET, or POST with --data]
    #[arg(short = 'X', long, value_name = "M", allow_hyphen_values = true)]
    method: Option<String>,
    /// Send DATA as a JSON body: Content-Type and Accept application/json (implies POST)
    #[arg(
        long,
        value_name = "DATA",
        allow_hyphen_values = true,
        conflicts_with = "data"
    )]
    pub json: Option<String>,
    /// A request header, 'Name: value' (repeatable)
    #[arg(
        short = 'H',
        long = "header",
        value_name = "Name: value",
        value_parser = parse_header,
        allow_hyphen_values = true
    )]
    pub headers: Vec<(String, String)>,
    /// Request body (implies --method POST)
    #[arg(short = 'd', long, value_name = "STRING", allow_hyphen_values = true)]
    pub data: Option<String>,
    /// Protocol to ask for in the Upgrade header (`websocket` does the RFC 6455 handshake)
    /// [default: tcp] (websocket for ws:// and wss:// URLs)
    #[arg(long, value_name = "PROTO", allow_hyphen_values = true)]
    upgrade: Option<String>,
    /// How long to wait for the response head, in milliseconds [default: 30000]
    #[arg(long = "head-timeout", value_name = "MS", allow_hyphen_values = true)]
    pub head_timeout_ms: Option<u64>,
    /// Largest response head accepted, in bytes [default: 65536]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_head_bytes: Option<u32>,
    /// Open a tunnel to HOST:PORT through the HTTP proxy at URL (CONNECT) instead of upgrading
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["data", "json", "upgrade", "method"])]
    connect: Option<String>,
    /// Deadline for name lookup and connect together, in milliseconds [default: 30000]
    #[arg(long = "connect-timeout", value_name = "MS")]
    pub connect_timeout_ms: Option<u64>,
    /// Turn TCP keepalive on, probing every MS milliseconds of silence (Docker uses 30000)
    #[arg(long = "keepalive", value_name = "MS")]
    pub keepalive_ms: Option<u64>,
    /// Also take the connection on a 200 (Docker daemons before API 1.24 answered attach so)
    #[arg(long = "allow-200")]
    pub allow_200: bool,
    /// Demultiplex Docker's stdcopy frames: stream 1 to stdout, 2 (and 3) to stderr
    #[arg(long)]
    pub stdcopy: bool,
    /// Trust the CA certificates in this PEM file, beside the system's (https://, wss://)
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<std::path::PathBuf>,
    /// Present this PEM client certificate (chain) when the server asks: mutual TLS
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<std::path::PathBuf>,
    /// The PEM private key of --cert (it stays in this process: the component never sees it)
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<std::path::PathBuf>,
    /// Connect to this unix socket instead of the URL's host (curl's --unix-socket; Docker's
    /// /var/run/docker.sock); the URL still gives the target and Host
    #[arg(long, value_name = "PATH", conflicts_with = "proxy")]
    pub unix_socket: Option<std::path::PathBuf>,
    /// Reach an https:// or wss:// URL through the HTTP proxy at http://HOST[:PORT] (a CONNECT
    /// tunnel, then TLS with the origin inside it)
    #[arg(short = 'x', long, value_name = "URL", value_parser = Quiet(parse_proxy))]
    pub proxy: Option<Proxy>,
}

/// `-x`'s proxy.
#[derive(Clone, Debug, PartialEq)]
pub struct Proxy {
    /// The proxy URL's userinfo, for `Proxy-Authorization`.
    pub credentials: Option<Secret>,
    pub host: String,
    pub port: u16,
}

/// A credential: `Debug` never shows it.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A value parser whose error is its own message alone: clap's own would quote the value,
/// and a URL's password must not be printed back.
#[derive(Clone)]
struct Quiet<T>(fn(&str) -> anyhow::Result<T>);

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Quiet<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        use clap::error::ErrorKind;
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::raw(ErrorKind::InvalidUtf8, "a URL is not UTF-8\n"))
            .map_err(|e| e.with_cmd(cmd))?;
        (self.0)(text).map_err(|e| {
            clap::Error::raw(ErrorKind::ValueValidation, format!("{e:#}\n")).with_cmd(cmd)
        })
    }
}

impl Proxy {
    /// `host:port`, with brackets around an IPv6 literal.
    pub fn authority(&self) -> String {
        Authority {
            host: &self.host,
            port: self.port,
        }
        .to_string()
    }
}

impl Dial {
    /// `host:port`, with brackets around an IPv6 literal.
    pub fn authority(&self) -> String {
        Authority {
            host: &self.url.host,
            port: self.url.port,
        }
        .to_string()
    }

    /// `CONNECT` for a tunnel; else `-X`, defaulting to POST with a body and GET without.
    pub fn method(&self) -> &str {
        match (&self.connect, &self.method, self.body()) {
            (Some(_), _, _) => "CONNECT",
            (None, Some(method), _) => method,
            (None, None, Some(_)) => "POST",
            (None, None, None) => "GET",
        }
    }

    /// `--data`'s or `--json`'s body.
    pub fn body(&self) -> Option<&str> {
        self.data.as_deref().or(self.json.as_deref())
    }

    /// `-H`'s fields, then those the CLI adds where the caller set none of that name: the
    /// URL's credentials (`Authorization`, or `Proxy-Authorization` to a `--connect` proxy)
    /// and `--json`'s `Content-Type` and `Accept`, as curl does.
    pub fn header_fields(&self) -> Vec<(String, String)> {
        let mut fields = self.headers.clone();
        let mut add = |name: &str, value: &str| {
            if !fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                fields.push((name.to_string(), value.to_string()));
            }
        };
        if let Some(Secret(credentials)) = &self.url.credentials {
            let field = match self.connect {
                Some(_) => "Proxy-Authorization",
                None => "Authorization",
            };
            add(field, credentials);
        }
        if self.json.is_some() {
            add("Content-Type", "application/json");
            add("Accept", "application/json");
        }
        fields
    }

    /// The request target: a tunnel's `HOST:PORT` (sent to the proxy in the URL), else the
    /// URL's path and query.
    pub fn target(&self) -> &str {
        self.connect.as_deref().unwrap_or(&self.url.target)
    }

    /// The protocol asked for in `Upgrade`; none for a tunnel.
    pub fn upgrade(&self) -> &str {
        match (&self.connect, &self.upgrade) {
            (Some(_), _) => "",
            (None, Some(upgrade)) => upgrade,
            (None, None) if self.url.websocket => "websocket",
            (None, None) => "tcp",
        }
    }
}

/// `hijack serve`.
#[derive(Args)]
#[command(
    args_override_self = true,
    group(ArgGroup::new("action").required(true).args(["echo", "exec"]))
)]
pub struct Serve {
    /// Address to listen on, IP:PORT (port 0 picks a free one)
    #[arg(long, value_name = "ADDR", allow_hyphen_values = true)]
    pub listen: SocketAddr,
    /// A protocol to switch to (repeatable)
    #[arg(
        long = "upgrade",
        value_name = "PROTO",
        default_value = "tcp",
        allow_hyphen_values = true
    )]
    pub upgrades: Vec<String>,
    /// How long a client may take to send its request head, in milliseconds [default: 30000]
    #[arg(long = "head-timeout", value_name = "MS")]
    pub head_timeout_ms: Option<u64>,
    /// Largest request head accepted, in bytes (431 beyond) [default: 65536]
    #[arg(long, value_name = "N")]
    pub max_head_bytes: Option<u32>,
    /// Serve TLS with this PEM certificate chain (the server's first): https://, wss://
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Serve on N threads, one component instance and one listener each (SO_REUSEPORT)
    /// [default: one per core]
    #[arg(long, value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
    /// Answer 200 to GET or HEAD of PATH without an upgrade offer (a load balancer's health
    /// check: haproxy's httpchk, Kubernetes' httpGet)
    #[arg(long, value_name = "PATH")]
    pub health: Option<String>,
    /// Echo each connection's bytes back
    #[arg(long)]
    echo: bool,
    /// Run CMD [ARGS...] on each connection, its stdin/stdout wired to it
    ///
    /// Takes the rest of the command line as the command and its arguments, '-'-prefixed ones
    /// included (`--exec sh -c 'tr a-z A-Z'`), so it comes last.
    #[arg(
        long,
        value_name = "CMD",
        num_args = 1..,
        allow_hyphen_values = true
    )]
    exec: Option<Vec<String>>,
}

/// What `serve` does with a hijacked connection.
pub enum Action<'a> {
    Echo,
    /// The command and its arguments; never empty.
    Exec(&'a [String]),
}

impl Serve {
    /// `--echo` or `--exec`: the group makes exactly one of them present, and `num_args` makes
    /// `--exec`'s command non-empty.
    pub fn action(&self) -> Action<'_> {
        debug_assert_eq!(self.echo, self.exec.is_none());
        match &self.exec {
            Some(cmd) => Action::Exec(cmd),
            None => Action::Echo,
        }
    }
}

/// `-H 'Name: value'`: split at the first ':', the name trimmed, the value's leading blanks dropped.
fn parse_header(h: &str) -> Result<(String, String), String> {
    let (name, v) = h
        .split_once(':')
        .ok_or_else(|| format!("header {h:?} is not 'Name: value'"))?;
    Ok((name.trim().to_string(), v.trim_start().to_string()))
}

/// `url` as it may be shown: a userinfo replaced by `***`.
fn redacted(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_string(),
    }
}

/// The userinfo of `authority` as Basic credentials, and the rest; errors name `shown`.
fn credentials<'a>(authority: &'a str, shown: &str) -> anyhow::Result<(Option<Secret>, &'a str)> {
    match authority.rsplit_once('@') {
        Some((userinfo, rest)) => {
            let basic = hijack_proto::credentials::basic(userinfo)
                .map_err(|e| anyhow::anyhow!("URL {shown:?}: {e}"))?;
            Ok((Some(Secret(basic)), rest))
        }
        None => Ok((None, authority)),
    }
}

/// `scheme://[user[:password]@]host[:port][/path?query][#fragment]` into credentials, host,
/// port (default 80, or 443 over TLS) and target (default `/`, the fragment dropped).
/// Schemes: `http`, `https`, `ws`, `wss`, in any case. The authority goes through the core's
/// one rule for hosts, brackets and ports. Errors show the URL without its userinfo.
fn split_url(full: &str) -> anyhow::Result<Url> {
    let url = &redacted(full);
    let (scheme, rest) = full
        .split_once("://")
        .with_context(|| format!("URL {url:?}: no scheme (http://, https://, ws://, wss://)"))?;
    let (tls, websocket) = match scheme.to_ascii_lowercase().as_str() {
        "http" => (false, false),
        "https" => (true, false),
        "ws" => (false, true),
        "wss" => (true, true),
        _ => anyhow::bail!(
            "URL {url:?}: only http://, https://, ws:// and wss:// URLs are supported"
        ),
    };
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let (credentials, authority) = credentials(authority, url)?;
    let default_port = if tls { 443 } else { 80 };
    let Authority { host, port } = parse_authority_or(authority, default_port)
        .map_err(|e| anyhow::anyhow!("URL {url:?}: {e}"))?;
    Ok(Url {
        credentials,
        host: host.to_string(),
        port,
        target,
        tls,
        websocket,
    })
}

/// `-x`: `http://[user[:password]@]host[:port]` (default port 1080, as curl's) or a bare
/// `host:port`.
fn parse_proxy(full: &str) -> anyhow::Result<Proxy> {
    let proxy = &redacted(full);
    let rest = match full.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some(_) => anyhow::bail!("proxy {proxy:?}: only http:// proxies are supported"),
        None => full,
    };
    let rest = rest.trim_end_matches('/');
    let (credentials, rest) = credentials(rest, proxy)?;
    let Authority { host, port } =
        parse_authority_or(rest, 1080).map_err(|e| anyhow::anyhow!("proxy {proxy:?}: {e}"))?;
    Ok(Proxy {
        credentials,
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::{Url, split_url};

    #[test]
    fn urls_split_into_authority_and_target() {
        let cases = [
            (
                "http://127.0.0.1:2375/containers/x/attach?stream=1",
                ("127.0.0.1", 2375, "/containers/x/attach?stream=1"),
            ),
            ("http://localhost", ("localhost", 80, "/")),
            ("http://[::1]:8080/a", ("::1", 8080, "/a")),
            ("http://h:1?q=1", ("h", 1, "/?q=1")),
        ];
        for (url, (host, port, target)) in cases {
            let got = split_url(url).unwrap();
            let want = Url {
                credentials: None,
                host: host.to_string(),
                port,
                target: target.to_string(),
                tls: false,
                websocket: false,
            };
            assert_eq!(got, want, "{url}");
        }
        let tls = split_url("HTTPS://example.test/a#frag").unwrap();
        assert_eq!((tls.port, tls.target.as_str(), tls.tls), (443, "/a", true));
        let wss = split_url("wss://h:8443?q").unwrap();
        assert_eq!((wss.port, wss.target.as_str()), (8443, "/?q"));
        assert!(wss.tls && wss.websocket);
        let ws = split_url("ws://h/").unwrap();
        assert!(!ws.tls && ws.websocket && ws.port == 80);
        assert!(split_url("ftp://x:1/").is_err());
        assert!(split_url("http://:1/").is_err());
        assert!(split_url("http://x:99999/").is_err());
        assert!(split_url("http://::1:80/").is_err());
        assert!(split_url("http://[::1/").is_err());
        assert!(split_url("http://x:1\r\nX: y/").is_err());
    }
}

#[cfg(test)]
mod parse_tests {
    use super::{Action, Command, Dial, Serve, try_parse_from};

    fn dial(args: &[&str]) -> Dial {
        match try_parse_from([&["hijack", "dial"], args].concat()) {
            Ok(Command::Dial(d)) => *d,
            Ok(_) => panic!("{args:?}: not dial"),
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    fn serve(args: &[&str]) -> Serve {
        match try_parse_from([&["hijack", "serve"], args].concat()) {
            Ok(Command::Serve(s)) => s,
            Ok(_) => panic!("{args:?}: not serve"),
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    fn usage_error(args: &[&str]) -> clap::error::ErrorKind {
        match try_parse_from([&["hijack"], args].concat()) {
            Ok(_) => panic!("{args:?} parsed"),
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
                e.kind()
            }
        }
    }

    #[test]
    fn dial_defaults() {
        let d = dial(&["http://h"]);
        assert_eq!(
            (d.url.host.as_str(), d.url.port, d.target()),
            ("h", 80, "/")
        );
        assert_eq!(d.authority(), "h:80");
        assert_eq!(d.method(), "GET");
        assert!(d.headers.is_empty() && d.data.is_none());
        assert_eq!(d.upgrade(), "tcp");
        assert_eq!((d.head_timeout_ms, d.max_head_bytes), (None, None));
        assert_eq!(dial(&["http://[::1]:8/x"]).authority(), "[::1]:8");
    }

    #[test]
    fn dial_flags_long_and_short() {
        let d = dial(&[
            "http://127.0.0.1:2375/a?b=1",
            "-X",
            "PUT",
            "-H",
            "  X-A :  b: c ",
            "--header",
            "X-Empty:",
            "-d",
            "-body",
            "--upgrade",
            "h2c",
            "--head-timeout",
            "1500",
            "--max-head-bytes",
            "4096",
        ]);
        assert_eq!(d.method(), "PUT");
        assert_eq!(
            d.headers,
            [
                ("X-A".to_string(), "b: c ".to_string()),
                ("X-Empty".to_string(), String::new())
            ]
        );
        assert_eq!(d.data.as_deref(), Some("-body"));
        assert_eq!(d.upgrade(), "h2c");
        assert_eq!(
            (d.head_timeout_ms, d.max_head_bytes),
            (Some(1500), Some(4096))
        );
        let d = dial(&["--method", "PATCH", "--data", "x", "http://h"]);
        assert_eq!((d.method(), d.data.as_deref()), ("PATCH", Some("x")));
    }

    #[test]
    fn dial_connect_asks_the_proxy_for_a_tunnel() {
        let d = dial(&["http://proxy:3128/ignored", "--connect", "db:5432"]);
        assert_eq!(d.authority(), "proxy:3128");
        assert_eq!(
            (d.method(), d.target(), d.upgrade()),
            ("CONNECT", "db:5432", "")
        );
    }

    #[test]
    fn dial_data_implies_post_and_last_flag_wins() {
        assert_eq!(dial(&["http://h", "--data", "x"]).method(), "POST");
        assert_eq!(dial(&["http://h", "-d", ""]).method(), "POST");
        let d = dial(&[
            "http://h",
            "--upgrade",
            "a",
            "--upgrade",
            "b",
            "-X",
            "A",
            "-X",
            "B",
        ]);
        assert_eq!((d.upgrade(), d.method()), ("b", "B"));
    }

    #[test]
    fn dial_usage_errors() {
        use clap::error::ErrorKind::*;
        assert_eq!(usage_error(&["dial"]), MissingRequiredArgument);
        assert_eq!(
            usage_error(&["dial", "http://h", "-H", "no colon"]),
            ValueValidation
        );
        assert_eq!(usage_error(&["dial", "ftp://h/"]), ValueValidation);
        assert_eq!(
            usage_error(&["dial", "http://h", "http://g"]),
            UnknownArgument
        );
        assert_eq!(
            usage_error(&["dial", "http://h", "--nope"]),
            UnknownArgument
        );
        assert_eq!(
            usage_error(&["dial", "http://h", "--head-timeout", "x"]),
            ValueValidation
        );
        assert_eq!(
            usage_error(&["dial", "http://h", "--max-head-bytes", "-1"]),
            ValueValidation
        );
        assert_eq!(usage_error(&["dial", "http://h", "-d"]), InvalidValue);
    }

    #[test]
    fn serve_echo_and_upgrades() {
        let s = serve(&["--listen", "127.0.0.1:0", "--echo"]);
        assert_eq!(s.listen.to_string(), "127.0.0.1:0");
        assert_eq!(s.upgrades, ["tcp"]);
        assert!(matches!(s.action(), Action::Echo));
        let s = serve(&[
            "--upgrade",
            "a",
            "--echo",
            "--upgrade",
            "b",
            "--listen",
            "[::1]:9",
        ]);
        assert_eq!(s.upgrades, ["a", "b"]);
        assert_eq!(s.listen.to_string(), "[::1]:9");
    }

    #[test]
    fn serve_exec_takes_the_rest_of_the_line() {
        let s = serve(&[
            "--listen",
            "127.0.0.1:0",
            "--upgrade",
            "x",
            "--exec",
            "sh",
            "-c",
            "tr a-z A-Z",
            "--echo",
            "--",
            "--help",
            "-V",
        ]);
        assert_eq!(s.upgrades, ["x"]);
        match s.action() {
            Action::Exec(cmd) => assert_eq!(
                cmd,
                ["sh", "-c", "tr a-z A-Z", "--echo", "--", "--help", "-V"]
            ),
            Action::Echo => panic!("echo"),
        }
        match serve(&["--listen", "127.0.0.1:0", "--exec", "--version"]).action() {
            Action::Exec(cmd) => assert_eq!(cmd, ["--version"]),
            Action::Echo => panic!("echo"),
        }
    }

    #[test]
    fn serve_usage_errors() {
        use clap::error::ErrorKind::*;
        assert_eq!(usage_error(&["serve", "--echo"]), MissingRequiredArgument);
        assert_eq!(
            usage_error(&["serve", "--listen", "127.0.0.1:0"]),
            MissingRequiredArgument
        );
        assert_eq!(
            usage_error(&["serve", "--listen", "127.0.0.1:0", "--exec"]),
            InvalidValue
        );
        assert_eq!(
            usage_error(&[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--echo",
                "--exec",
                "cat"
            ]),
            ArgumentConflict
        );
        assert_eq!(
            usage_error(&["serve", "--listen", "localhost:1", "--echo"]),
            ValueValidation
        );
        assert_eq!(
            usage_error(&["serve", "--listen", "127.0.0.1:0", "--echo", "x"]),
            UnknownArgument
        );
    }

    #[test]
    fn demo_help_version() {
        assert!(matches!(
            try_parse_from(["hijack", "demo"]),
            Ok(Command::Demo)
        ));
        assert_eq!(
            usage_error(&["demo", "x"]),
            clap::error::ErrorKind::UnknownArgument
        );
        assert_eq!(
            usage_error(&["nope"]),
            clap::error::ErrorKind::InvalidSubcommand
        );
        for argv in [
            &["--help"][..],
            &["-h"],
            &["help"],
            &["dial", "--help"],
            &["help", "serve"],
        ] {
            match try_parse_from([&["hijack"], argv].concat()) {
                Err(e) => {
                    assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{argv:?}");
                    assert_eq!(e.exit_code(), 0);
                }
                Ok(_) => panic!("{argv:?} parsed"),
            }
        }
        match try_parse_from(["hijack", "--version"]) {
            Err(e) => {
                assert_eq!(e.kind(), clap::error::ErrorKind::DisplayVersion);
                assert_eq!(
                    e.to_string(),
                    format!("hijack {}\n", env!("CARGO_PKG_VERSION"))
                );
            }
            Ok(_) => panic!("--version parsed"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
