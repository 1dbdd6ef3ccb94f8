//! A wasi:cli command that walks `wasi:sockets/tcp` through the cases wasmtime's own test
//! programs check (`p2_tcp_states`, `p2_tcp_sockopts`, `p2_tcp_bind`, `p2_tcp_connect`,
//! `p2_tcp_streams`), written anew. `host/tests/tcp_conformance.rs` runs it over the host's
//! TCP and over stock wasmtime-wasi's: both must pass.
//!
//! Usage: `tcp-conformance AREA [--skip CASE]...`, AREA one of `states`, `sockopts`, `bind`,
//! `connect`, `streams` or `all`. Each case prints `ok CASE` or `FAIL CASE: why` on stderr;
//! the exit code is 1 if any failed. Only loopback (and the unspecified, documentation and
//! non-unicast addresses the checks refuse) is used. Waits block in the guest; the host test
//! bounds the whole run.

use std::process::ExitCode;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    Network,
};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

type Check = Result<(), String>;

const SECOND: u64 = 1_000_000_000;
/// A port nothing listens on in a passing run: connects to it are refused before they leave.
const SOME_PORT: u16 = 47;

const V4: IpAddressFamily = IpAddressFamily::Ipv4;
const V6: IpAddressFamily = IpAddressFamily::Ipv6;

/// Fail the case with `what` unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($what:tt)+) => {
        if !$cond {
            return Err(format!($($what)+));
        }
    };
}

/// `$got` (a `Result<_, ErrorCode>`) must match `$pat`.
macro_rules! expect {
    ($got:expr, $pat:pat) => {{
        let got = $got;
        if !matches!(got, $pat) {
            return Err(format!(
                "{}: got {:?}, want {}",
                stringify!($got),
                got.as_ref().map(|_| ()),
                stringify!($pat)
            ));
        }
    }};
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let area = args.next().unwrap_or_else(|| "all".into());
    let mut skip = Vec::new();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--skip", Some(case)) => skip.push(case),
            _ => {
                eprintln!("usage: tcp-conformance AREA [--skip CASE]...");
                return ExitCode::from(2);
            }
        }
    }
    let net = instance_network();
    let ipv6 = supports_ipv6(&net);
    if !ipv6 {
        eprintln!("note: no IPv6 loopback here: IPv6 cases skipped");
    }
    let mut cases: Vec<(String, Box<dyn Fn(&Network) -> Check>)> = Vec::new();
    let areas: &[&str] = match area.as_str() {
        "all" => &["states", "sockopts", "bind", "connect", "streams"],
        one => &[one][..],
    };
    for area in areas {
        match *area {
            "states" => states(&mut cases, ipv6),
            "sockopts" => sockopts(&mut cases, ipv6),
            "bind" => bind(&mut cases, ipv6),
            "connect" => connect(&mut cases, ipv6),
            "streams" => streams(&mut cases, ipv6),
            other => {
                eprintln!("unknown area {other}");
                return ExitCode::from(2);
            }
        }
    }
    let mut failed = 0;
    for (name, case) in &cases {
        if skip.iter().any(|s| s == name) {
            eprintln!("skip {name}");
            continue;
        }
        match case(&net) {
            Ok(()) => eprintln!("ok {name}"),
            Err(why) => {
                failed += 1;
                eprintln!("FAIL {name}: {why}");
            }
        }
    }
    eprintln!("{} cases, {failed} failed", cases.len());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

type Cases = Vec<(String, Box<dyn Fn(&Network) -> Check>)>;

/// Add `case` once per family (IPv6 only where loopback has it), named `NAME/v4`, `NAME/v6`.
fn per_family(
    cases: &mut Cases,
    ipv6: bool,
    name: &str,
    case: fn(&Network, IpAddressFamily) -> Check,
) {
    cases.push((format!("{name}/v4"), Box::new(move |net| case(net, V4))));
    if ipv6 {
        cases.push((format!("{name}/v6"), Box::new(move |net| case(net, V6))));
    }
}

fn once(cases: &mut Cases, name: &str, case: fn(&Network) -> Check) {
    cases.push((name.to_string(), Box::new(case)));
}

// ----- addresses and blocking helpers -----

fn loopback(family: IpAddressFamily) -> IpAddress {
    match family {
        V4 => IpAddress::Ipv4((127, 0, 0, 1)),
        V6 => IpAddress::Ipv6((0, 0, 0, 0, 0, 0, 0, 1)),
    }
}

fn unspecified(family: IpAddressFamily) -> IpAddress {
    match family {
        V4 => IpAddress::Ipv4((0, 0, 0, 0)),
        V6 => IpAddress::Ipv6((0, 0, 0, 0, 0, 0, 0, 0)),
    }
}

fn sa(ip: IpAddress, port: u16) -> IpSocketAddress {
    match ip {
        IpAddress::Ipv4(address) => IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
        IpAddress::Ipv6(address) => IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port,
            flow_info: 0,
            address,
            scope_id: 0,
        }),
    }
}

fn port_of(a: &IpSocketAddress) -> u16 {
    match a {
        IpSocketAddress::Ipv4(a) => a.port,
        IpSocketAddress::Ipv6(a) => a.port,
    }
}

fn ip_of(a: &IpSocketAddress) -> IpAddress {
    match a {
        IpSocketAddress::Ipv4(a) => IpAddress::Ipv4(a.address),
        IpSocketAddress::Ipv6(a) => IpAddress::Ipv6(a.address),
    }
}

/// An address as std has it, to compare addresses (the generated type has no `==`).
fn std_addr(a: &IpSocketAddress) -> std::net::SocketAddr {
    match a {
        IpSocketAddress::Ipv4(a) => {
            let (x0, x1, x2, x3) = a.address;
            (std::net::Ipv4Addr::new(x0, x1, x2, x3), a.port).into()
        }
        IpSocketAddress::Ipv6(a) => {
            let (x0, x1, x2, x3, x4, x5, x6, x7) = a.address;
            (
                std::net::Ipv6Addr::new(x0, x1, x2, x3, x4, x5, x6, x7),
                a.port,
            )
                .into()
        }
    }
}

/// Both calls gave an address, the same one.
fn same_addr<E>(a: Result<IpSocketAddress, E>, b: Result<IpSocketAddress, E>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => std_addr(&a) == std_addr(&b),
        _ => false,
    }
}

fn family_of(ip: &IpAddress) -> IpAddressFamily {
    match ip {
        IpAddress::Ipv4(_) => V4,
        IpAddress::Ipv6(_) => V6,
    }
}

fn supports_ipv6(net: &Network) -> bool {
    create_tcp_socket(V6)
        .ok()
        .is_some_and(|s| bind_blocking(&s, net, sa(loopback(V6), 0)).is_ok())
}

fn socket(family: IpAddressFamily) -> Result<TcpSocket, String> {
    create_tcp_socket(family).map_err(|e| format!("create-tcp-socket({family:?}): {e:?}"))
}

fn bind_blocking(s: &TcpSocket, net: &Network, addr: IpSocketAddress) -> Result<(), ErrorCode> {
    s.start_bind(net, addr)?;
    loop {
        match s.finish_bind() {
            Err(ErrorCode::WouldBlock) => s.subscribe().block(),
            r => return r,
        }
    }
}

fn listen_blocking(s: &TcpSocket) -> Result<(), ErrorCode> {
    s.start_listen()?;
    loop {
        match s.finish_listen() {
            Err(ErrorCode::WouldBlock) => s.subscribe().block(),
            r => return r,
        }
    }
}

fn connect_blocking(
    s: &TcpSocket,
    net: &Network,
    addr: IpSocketAddress,
) -> Result<(InputStream, OutputStream), ErrorCode> {
    s.start_connect(net, addr)?;
    loop {
        match s.finish_connect() {
            Err(ErrorCode::WouldBlock) => s.subscribe().block(),
            r => return r,
        }
    }
}

fn accept_blocking(s: &TcpSocket) -> Result<(TcpSocket, InputStream, OutputStream), ErrorCode> {
    loop {
        match s.accept() {
            Err(ErrorCode::WouldBlock) => s.subscribe().block(),
            r => return r,
        }
    }
}

/// A listener on loopback, an ephemeral port.
fn listener(
    net: &Network,
    family: IpAddressFamily,
) -> Result<(TcpSocket, IpSocketAddress), String> {
    let l = socket(family)?;
    bind_blocking(&l, net, sa(loopback(family), 0)).map_err(|e| format!("bind: {e:?}"))?;
    listen_blocking(&l).map_err(|e| format!("listen: {e:?}"))?;
    let addr = l
        .local_address()
        .map_err(|e| format!("local-address: {e:?}"))?;
    Ok((l, addr))
}

/// Write all of `bytes`, waiting for the stream to permit each part, then flush.
fn write_all(out: &OutputStream, mut bytes: &[u8]) -> Result<(), StreamError> {
    while !bytes.is_empty() {
        let permit = out.check_write()?;
        if permit == 0 {
            out.subscribe().block();
            continue;
        }
        let n = bytes
            .len()
            .min(usize::try_from(permit).unwrap_or(usize::MAX));
        out.write(&bytes[..n])?;
        bytes = &bytes[n..];
    }
    out.blocking_flush()
}

/// Read until the stream closes.
fn read_to_end(input: &InputStream) -> Result<Vec<u8>, String> {
    let mut all = Vec::new();
    loop {
        match input.read(64 * 1024) {
            Ok(b) if b.is_empty() => input.subscribe().block(),
            Ok(b) => all.extend_from_slice(&b),
            Err(StreamError::Closed) => return Ok(all),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!("read: {}", e.to_debug_string()));
            }
        }
    }
}

/// Try random ports on `ip` until `bind` takes one (a port in use is tried again).
fn bind_random_port(
    ip: IpAddress,
    mut bind: impl FnMut(IpSocketAddress) -> Result<(), ErrorCode>,
) -> Result<IpSocketAddress, String> {
    let mut last = ErrorCode::Unknown;
    for _ in 0..20 {
        let port = 1024 + (wasip2::random::random::get_random_u64() % (65536 - 1024)) as u16;
        let addr = sa(ip, port);
        match bind(addr) {
            Ok(()) => return Ok(addr),
            Err(e @ (ErrorCode::AddressInUse | ErrorCode::AccessDenied)) => last = e,
            Err(e) => return Err(format!("bind to port {port}: {e:?}")),
        }
    }
    Err(format!("no free port found: {last:?}"))
}

// ----- states (p2_tcp_states) -----

fn states(cases: &mut Cases, ipv6: bool) {
    per_family(cases, ipv6, "states/unbound", |_, f| {
        let s = socket(f)?;
        expect!(s.finish_bind(), Err(ErrorCode::NotInProgress));
        expect!(
            s.finish_connect().map(|_| ()),
            Err(ErrorCode::NotInProgress)
        );
        // Unlike POSIX, WASI 0.2 does not listen on an unbound socket.
        expect!(s.start_listen(), Err(ErrorCode::InvalidState));
        expect!(s.finish_listen(), Err(ErrorCode::NotInProgress));
        expect!(s.accept().map(|_| ()), Err(ErrorCode::InvalidState));
        expect!(s.shutdown(ShutdownType::Both), Err(ErrorCode::InvalidState));
        expect!(s.local_address(), Err(ErrorCode::InvalidState));
        expect!(s.remote_address(), Err(ErrorCode::InvalidState));
        ensure!(!s.is_listening(), "is-listening");
        ensure!(s.address_family() == f, "address-family");
        options_usable(&s, true)
    });
    per_family(cases, ipv6, "states/bound", |net, f| {
        let bind_addr = sa(loopback(f), 0);
        let s = socket(f)?;
        bind_blocking(&s, net, bind_addr).map_err(|e| format!("bind: {e:?}"))?;
        expect!(s.start_bind(net, bind_addr), Err(ErrorCode::InvalidState));
        expect!(s.finish_bind(), Err(ErrorCode::NotInProgress));
        expect!(
            s.finish_connect().map(|_| ()),
            Err(ErrorCode::NotInProgress)
        );
        expect!(s.finish_listen(), Err(ErrorCode::NotInProgress));
        expect!(s.accept().map(|_| ()), Err(ErrorCode::InvalidState));
        expect!(s.shutdown(ShutdownType::Both), Err(ErrorCode::InvalidState));
        expect!(s.local_address(), Ok(_));
        expect!(s.remote_address(), Err(ErrorCode::InvalidState));
        ensure!(!s.is_listening(), "is-listening");
        ensure!(s.address_family() == f, "address-family");
        options_usable(&s, true)
    });
    per_family(cases, ipv6, "states/listening", |net, f| {
        let bind_addr = sa(loopback(f), 0);
        let (s, _) = listener(net, f)?;
        expect!(s.start_bind(net, bind_addr), Err(ErrorCode::InvalidState));
        expect!(s.finish_bind(), Err(ErrorCode::NotInProgress));
        // The address does not matter: a listener connects nowhere.
        expect!(
            s.start_connect(net, bind_addr),
            Err(ErrorCode::InvalidState)
        );
        expect!(
            s.finish_connect().map(|_| ()),
            Err(ErrorCode::NotInProgress)
        );
        expect!(s.start_listen(), Err(ErrorCode::InvalidState));
        expect!(s.finish_listen(), Err(ErrorCode::NotInProgress));
        expect!(s.accept().map(|_| ()), Err(ErrorCode::WouldBlock));
        expect!(s.shutdown(ShutdownType::Both), Err(ErrorCode::InvalidState));
        expect!(s.local_address(), Ok(_));
        expect!(s.remote_address(), Err(ErrorCode::InvalidState));
        ensure!(s.is_listening(), "is-listening");
        ensure!(s.address_family() == f, "address-family");
        expect!(
            s.set_listen_backlog_size(32),
            Ok(()) | Err(ErrorCode::NotSupported)
        );
        options_usable(&s, false)
    });
    per_family(cases, ipv6, "states/connected", |net, f| {
        let bind_addr = sa(loopback(f), 0);
        let (_l, addr) = listener(net, f)?;
        let s = socket(f)?;
        let (_input, _output) =
            connect_blocking(&s, net, addr).map_err(|e| format!("connect: {e:?}"))?;
        expect!(s.start_bind(net, bind_addr), Err(ErrorCode::InvalidState));
        expect!(s.finish_bind(), Err(ErrorCode::NotInProgress));
        expect!(s.start_connect(net, addr), Err(ErrorCode::InvalidState));
        expect!(
            s.finish_connect().map(|_| ()),
            Err(ErrorCode::NotInProgress)
        );
        expect!(s.start_listen(), Err(ErrorCode::InvalidState));
        expect!(s.finish_listen(), Err(ErrorCode::NotInProgress));
        expect!(s.accept().map(|_| ()), Err(ErrorCode::InvalidState));
        expect!(s.local_address(), Ok(_));
        expect!(s.remote_address(), Ok(_));
        ensure!(
            same_addr(s.remote_address(), Ok(addr)),
            "remote-address is the listener's"
        );
        ensure!(!s.is_listening(), "is-listening");
        ensure!(s.address_family() == f, "address-family");
        expect!(s.set_listen_backlog_size(32), Err(ErrorCode::InvalidState));
        options_usable(&s, false)
    });
    per_family(cases, ipv6, "states/one-pair-at-a-time", |net, f| {
        let bind_addr = sa(loopback(f), 0);
        let s = socket(f)?;
        s.start_bind(net, bind_addr)
            .map_err(|e| format!("start-bind: {e:?}"))?;
        expect!(
            s.start_bind(net, bind_addr),
            Err(ErrorCode::ConcurrencyConflict)
        );
        expect!(
            s.start_connect(net, bind_addr),
            Err(ErrorCode::ConcurrencyConflict)
        );
        expect!(s.start_listen(), Err(ErrorCode::ConcurrencyConflict));
        expect!(
            s.finish_connect().map(|_| ()),
            Err(ErrorCode::NotInProgress)
        );
        expect!(s.finish_listen(), Err(ErrorCode::NotInProgress));
        expect!(s.finish_bind(), Ok(()));
        s.start_listen()
            .map_err(|e| format!("start-listen: {e:?}"))?;
        expect!(s.start_listen(), Err(ErrorCode::ConcurrencyConflict));
        expect!(s.finish_bind(), Err(ErrorCode::NotInProgress));
        expect!(s.finish_listen(), Ok(()));
        Ok(())
    });
    per_family(cases, ipv6, "states/connect-in-progress", |net, f| {
        let (_l, addr) = listener(net, f)?;
        let s = socket(f)?;
        s.start_connect(net, addr)
            .map_err(|e| format!("start-connect: {e:?}"))?;
        expect!(
            s.start_connect(net, addr),
            Err(ErrorCode::ConcurrencyConflict)
        );
        expect!(
            s.start_bind(net, sa(loopback(f), 0)),
            Err(ErrorCode::ConcurrencyConflict)
        );
        expect!(s.start_listen(), Err(ErrorCode::ConcurrencyConflict));
        expect!(s.finish_bind(), Err(ErrorCode::NotInProgress));
        loop {
            match s.finish_connect() {
                Err(ErrorCode::WouldBlock) => s.subscribe().block(),
                Ok(_) => break,
                Err(e) => return Err(format!("finish-connect: {e:?}")),
            }
        }
        expect!(
            s.finish_connect().map(|_| ()),
            Err(ErrorCode::NotInProgress)
        );
        Ok(())
    });
}

/// Every option can be read and set in this state (the backlog only where `backlog`).
fn options_usable(s: &TcpSocket, backlog: bool) -> Check {
    if backlog {
        expect!(s.set_listen_backlog_size(32), Ok(()));
    }
    expect!(s.keep_alive_enabled(), Ok(_));
    expect!(s.set_keep_alive_enabled(false), Ok(()));
    expect!(s.keep_alive_idle_time(), Ok(_));
    expect!(s.set_keep_alive_idle_time(1), Ok(()));
    expect!(s.keep_alive_interval(), Ok(_));
    expect!(s.set_keep_alive_interval(1), Ok(()));
    expect!(s.keep_alive_count(), Ok(_));
    expect!(s.set_keep_alive_count(1), Ok(()));
    expect!(s.hop_limit(), Ok(_));
    expect!(s.set_hop_limit(255), Ok(()));
    expect!(s.receive_buffer_size(), Ok(_));
    expect!(s.set_receive_buffer_size(16000), Ok(()));
    expect!(s.send_buffer_size(), Ok(_));
    expect!(s.set_send_buffer_size(16000), Ok(()));
    Ok(())
}

// ----- socket options (p2_tcp_sockopts) -----

/// The options `configure` sets, as read back.
#[derive(Debug, PartialEq)]
struct Options {
    keep_alive: bool,
    idle: u64,
    interval: u64,
    count: u32,
    hops: u8,
    receive: u64,
    send: u64,
}

fn read_options(s: &TcpSocket) -> Result<Options, String> {
    let e = |what: &str, e: ErrorCode| format!("{what}: {e:?}");
    Ok(Options {
        keep_alive: s
            .keep_alive_enabled()
            .map_err(|x| e("keep-alive-enabled", x))?,
        idle: s
            .keep_alive_idle_time()
            .map_err(|x| e("keep-alive-idle-time", x))?,
        interval: s
            .keep_alive_interval()
            .map_err(|x| e("keep-alive-interval", x))?,
        count: s.keep_alive_count().map_err(|x| e("keep-alive-count", x))?,
        hops: s.hop_limit().map_err(|x| e("hop-limit", x))?,
        receive: s
            .receive_buffer_size()
            .map_err(|x| e("receive-buffer-size", x))?,
        send: s.send_buffer_size().map_err(|x| e("send-buffer-size", x))?,
    })
}

fn configure(s: &TcpSocket, keep_alive: bool, n: u64) -> Result<Options, String> {
    let e = |what: &str, e: ErrorCode| format!("set-{what}: {e:?}");
    s.set_keep_alive_enabled(keep_alive)
        .map_err(|x| e("keep-alive-enabled", x))?;
    s.set_keep_alive_idle_time(n * SECOND)
        .map_err(|x| e("keep-alive-idle-time", x))?;
    s.set_keep_alive_interval(n * SECOND)
        .map_err(|x| e("keep-alive-interval", x))?;
    s.set_keep_alive_count(n as u32)
        .map_err(|x| e("keep-alive-count", x))?;
    s.set_hop_limit(n as u8).map_err(|x| e("hop-limit", x))?;
    let size = if n == 42 { 0x10000 } else { 0x20000 };
    s.set_receive_buffer_size(size)
        .map_err(|x| e("receive-buffer-size", x))?;
    s.set_send_buffer_size(size)
        .map_err(|x| e("send-buffer-size", x))?;
    Ok(Options {
        keep_alive,
        idle: n * SECOND,
        interval: n * SECOND,
        count: n as u32,
        hops: n as u8,
        receive: size,
        send: size,
    })
}

fn sockopts(cases: &mut Cases, ipv6: bool) {
    per_family(cases, ipv6, "sockopts/defaults", |_, f| {
        let s = socket(f)?;
        ensure!(s.address_family() == f, "address-family");
        // Either value is a valid default: only that there is one.
        expect!(s.keep_alive_enabled(), Ok(_));
        let o = read_options(&s)?;
        ensure!(
            o.idle > 0 && o.interval > 0 && o.count > 0,
            "keep-alive defaults: {o:?}"
        );
        ensure!(o.hops > 0 && o.receive > 0 && o.send > 0, "defaults: {o:?}");
        Ok(())
    });
    per_family(cases, ipv6, "sockopts/input-ranges", |_, f| {
        let s = socket(f)?;
        expect!(
            s.set_listen_backlog_size(0),
            Err(ErrorCode::InvalidArgument)
        );
        // Sizes out of the system's range are capped silently.
        expect!(s.set_listen_backlog_size(1), Ok(()));
        expect!(s.set_listen_backlog_size(u64::MAX), Ok(()));
        expect!(s.set_keep_alive_enabled(true), Ok(()));
        expect!(s.set_keep_alive_enabled(false), Ok(()));
        expect!(
            s.set_keep_alive_idle_time(0),
            Err(ErrorCode::InvalidArgument)
        );
        expect!(s.set_keep_alive_idle_time(1), Ok(()));
        // 1 ns is clamped up, not rounded to 0 (which would mean "reset" to the system).
        let idle = s.keep_alive_idle_time().map_err(|e| format!("{e:?}"))?;
        ensure!(
            idle > 0 && idle <= SECOND,
            "idle time after setting 1 ns: {idle}"
        );
        expect!(s.set_keep_alive_idle_time(u64::MAX), Ok(()));
        expect!(
            s.set_keep_alive_interval(0),
            Err(ErrorCode::InvalidArgument)
        );
        expect!(s.set_keep_alive_interval(1), Ok(()));
        let interval = s.keep_alive_interval().map_err(|e| format!("{e:?}"))?;
        ensure!(
            interval > 0 && interval <= SECOND,
            "interval after setting 1 ns: {interval}"
        );
        expect!(s.set_keep_alive_interval(u64::MAX), Ok(()));
        expect!(s.set_keep_alive_count(0), Err(ErrorCode::InvalidArgument));
        expect!(s.set_keep_alive_count(1), Ok(()));
        expect!(s.set_keep_alive_count(u32::MAX), Ok(()));
        expect!(s.set_hop_limit(0), Err(ErrorCode::InvalidArgument));
        expect!(s.set_hop_limit(1), Ok(()));
        expect!(s.set_hop_limit(u8::MAX), Ok(()));
        expect!(
            s.set_receive_buffer_size(0),
            Err(ErrorCode::InvalidArgument)
        );
        expect!(s.set_receive_buffer_size(1), Ok(()));
        expect!(s.set_receive_buffer_size(u64::MAX), Ok(()));
        expect!(s.set_send_buffer_size(0), Err(ErrorCode::InvalidArgument));
        expect!(s.set_send_buffer_size(1), Ok(()));
        expect!(s.set_send_buffer_size(u64::MAX), Ok(()));
        Ok(())
    });
    per_family(cases, ipv6, "sockopts/readback", |_, f| {
        let s = socket(f)?;
        for on in [true, false] {
            expect!(s.set_keep_alive_enabled(on), Ok(()));
            ensure!(
                s.keep_alive_enabled() == Ok(on),
                "keep-alive-enabled reads back {on}"
            );
        }
        let want = configure(&s, false, 42)?;
        let got = read_options(&s)?;
        ensure!(got == want, "read back {got:?}, set {want:?}");
        Ok(())
    });
    per_family(
        cases,
        ipv6,
        "sockopts/keep-alive-parameters-leave-it-off",
        |_, f| {
            let s = socket(f)?;
            expect!(s.set_keep_alive_enabled(false), Ok(()));
            expect!(s.set_keep_alive_idle_time(42 * SECOND), Ok(()));
            ensure!(
                s.keep_alive_enabled() == Ok(false),
                "idle time turned keep-alive on"
            );
            expect!(s.set_keep_alive_interval(42 * SECOND), Ok(()));
            ensure!(
                s.keep_alive_enabled() == Ok(false),
                "interval turned keep-alive on"
            );
            expect!(s.set_keep_alive_count(42), Ok(()));
            ensure!(
                s.keep_alive_enabled() == Ok(false),
                "count turned keep-alive on"
            );
            Ok(())
        },
    );
    per_family(cases, ipv6, "sockopts/inheritance", |net, f| {
        let l = socket(f)?;
        let default_keep_alive = l.keep_alive_enabled().map_err(|e| format!("{e:?}"))?;
        let want = configure(&l, !default_keep_alive, 42)?;
        bind_blocking(&l, net, sa(loopback(f), 0)).map_err(|e| format!("bind: {e:?}"))?;
        listen_blocking(&l).map_err(|e| format!("listen: {e:?}"))?;
        let addr = l.local_address().map_err(|e| format!("{e:?}"))?;
        let client = socket(f)?;
        let _client_streams =
            connect_blocking(&client, net, addr).map_err(|e| format!("connect: {e:?}"))?;
        let (accepted, _, _) = accept_blocking(&l).map_err(|e| format!("accept: {e:?}"))?;
        let got = read_options(&accepted)?;
        ensure!(
            got == want,
            "accepted socket has {got:?}, listener was given {want:?}"
        );
        // Changing the listener afterwards leaves the accepted socket as it was.
        configure(&l, default_keep_alive, 43)?;
        let after = read_options(&accepted)?;
        ensure!(
            after == want,
            "accepted socket changed with its listener: {after:?}"
        );
        Ok(())
    });
    per_family(cases, ipv6, "sockopts/after-listen", |net, f| {
        let (l, addr) = listener(net, f)?;
        let default_keep_alive = l.keep_alive_enabled().map_err(|e| format!("{e:?}"))?;
        let want = configure(&l, !default_keep_alive, 42)?;
        let client = socket(f)?;
        let _client_streams =
            connect_blocking(&client, net, addr).map_err(|e| format!("connect: {e:?}"))?;
        let (accepted, _, _) = accept_blocking(&l).map_err(|e| format!("accept: {e:?}"))?;
        let got = read_options(&accepted)?;
        ensure!(
            got == want,
            "accepted socket has {got:?}, listener was given {want:?}"
        );
        Ok(())
    });
}

// ----- bind (p2_tcp_bind) -----

/// Documentation addresses: configured on no machine.
const RESERVED_V4: IpAddress = IpAddress::Ipv4((192, 0, 2, 0));
const RESERVED_V6: IpAddress = IpAddress::Ipv6((0x2001, 0x0db8, 0, 0, 0, 0, 0, 0));

fn bind(cases: &mut Cases, ipv6: bool) {
    for (name, ips) in [
        ("loopback", [loopback(V4), loopback(V6)]),
        ("unspecified", [unspecified(V4), unspecified(V6)]),
    ] {
        for ip in ips {
            if family_of(&ip) == V6 && !ipv6 {
                continue;
            }
            let fam = if family_of(&ip) == V4 { "v4" } else { "v6" };
            cases.push((
                format!("bind/ephemeral-port/{name}/{fam}"),
                Box::new(move |net| {
                    let s = socket(family_of(&ip))?;
                    bind_blocking(&s, net, sa(ip, 0)).map_err(|e| format!("bind: {e:?}"))?;
                    let bound = s.local_address().map_err(|e| format!("{e:?}"))?;
                    ensure!(
                        same_ip(ip_of(&bound), ip),
                        "bound to {bound:?}, asked {ip:?}"
                    );
                    ensure!(port_of(&bound) != 0, "no port was chosen");
                    Ok(())
                }),
            ));
            cases.push((
                format!("bind/specific-port/{name}/{fam}"),
                Box::new(move |net| {
                    let s = socket(family_of(&ip))?;
                    let asked = bind_random_port(ip, |a| bind_blocking(&s, net, a))?;
                    let bound = s.local_address().map_err(|e| format!("{e:?}"))?;
                    ensure!(
                        std_addr(&bound) == std_addr(&asked),
                        "bound to {bound:?}, asked {asked:?}"
                    );
                    Ok(())
                }),
            ));
            cases.push((
                format!("bind/address-in-use/{name}/{fam}"),
                Box::new(move |net| {
                    let first = socket(family_of(&ip))?;
                    bind_blocking(&first, net, sa(ip, 0)).map_err(|e| format!("bind: {e:?}"))?;
                    listen_blocking(&first).map_err(|e| format!("listen: {e:?}"))?;
                    let bound = first.local_address().map_err(|e| format!("{e:?}"))?;
                    let second = socket(family_of(&ip))?;
                    expect!(
                        bind_blocking(&second, net, bound),
                        Err(ErrorCode::AddressInUse)
                    );
                    Ok(())
                }),
            ));
        }
    }
    per_family(cases, ipv6, "bind/reuseaddr", |net, f| {
        let client = socket(f)?;
        let addr = {
            let first = socket(f)?;
            let addr = bind_random_port(loopback(f), |a| bind_blocking(&first, net, a))?;
            listen_blocking(&first).map_err(|e| format!("listen: {e:?}"))?;
            let (_ci, _co) =
                connect_blocking(&client, net, addr).map_err(|e| format!("connect: {e:?}"))?;
            let (accepted, input, output) =
                accept_blocking(&first).map_err(|e| format!("accept: {e:?}"))?;
            write_all(&output, &[0; 10]).map_err(|e| format!("write: {e:?}"))?;
            // The accepted side closes first, so its end of the connection is the one left
            // in TIME_WAIT on the listener's port.
            drop((input, output, accepted, first));
            addr
        };
        let second = socket(f)?;
        bind_blocking(&second, net, addr)
            .map_err(|e| format!("bind again while TIME_WAIT: {e:?}"))?;
        listen_blocking(&second).map_err(|e| format!("listen again: {e:?}"))?;
        drop(client);
        Ok(())
    });
    per_family(cases, ipv6, "bind/address-not-bindable", |net, f| {
        let reserved = if f == V4 { RESERVED_V4 } else { RESERVED_V6 };
        let s = socket(f)?;
        expect!(
            bind_blocking(&s, net, sa(reserved, 0)),
            Err(ErrorCode::AddressNotBindable)
        );
        Ok(())
    });
    per_family(cases, ipv6, "bind/wrong-family", |net, f| {
        let wrong = if f == V4 { loopback(V6) } else { loopback(V4) };
        let s = socket(f)?;
        expect!(
            bind_blocking(&s, net, sa(wrong, 0)),
            Err(ErrorCode::InvalidArgument)
        );
        Ok(())
    });
    once(cases, "bind/non-unicast/v4", |net| {
        for ip in [
            IpAddress::Ipv4((255, 255, 255, 255)),
            IpAddress::Ipv4((224, 254, 0, 0)),
        ] {
            let s = socket(V4)?;
            expect!(
                bind_blocking(&s, net, sa(ip, 0)),
                Err(ErrorCode::InvalidArgument)
            );
        }
        Ok(())
    });
    if ipv6 {
        once(cases, "bind/non-unicast/v6", |net| {
            let s = socket(V6)?;
            let multicast = IpAddress::Ipv6((0xff00, 0, 0, 0, 0, 0, 0, 0));
            expect!(
                bind_blocking(&s, net, sa(multicast, 0)),
                Err(ErrorCode::InvalidArgument)
            );
            Ok(())
        });
        once(cases, "bind/dual-stack", |net| {
            // An IPv4-mapped address on an IPv6-only socket, and a deprecated IPv4-compatible
            // one.
            for ip in [
                IpAddress::Ipv6((0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)),
                IpAddress::Ipv6((0, 0, 0, 0, 0, 0, 0x7f00, 1)),
            ] {
                let s = socket(V6)?;
                expect!(
                    bind_blocking(&s, net, sa(ip, 0)),
                    Err(ErrorCode::InvalidArgument)
                );
            }
            Ok(())
        });
    }
}

fn same_ip(a: IpAddress, b: IpAddress) -> bool {
    match (a, b) {
        (IpAddress::Ipv4(a), IpAddress::Ipv4(b)) => a == b,
        (IpAddress::Ipv6(a), IpAddress::Ipv6(b)) => a == b,
        _ => false,
    }
}

// ----- connect (p2_tcp_connect) -----

fn connect(cases: &mut Cases, ipv6: bool) {
    per_family(cases, ipv6, "connect/unspecified", |net, f| {
        let s = socket(f)?;
        expect!(
            connect_blocking(&s, net, sa(unspecified(f), SOME_PORT)).map(|_| ()),
            Err(ErrorCode::InvalidArgument)
        );
        Ok(())
    });
    per_family(cases, ipv6, "connect/port-0", |net, f| {
        let s = socket(f)?;
        expect!(
            connect_blocking(&s, net, sa(loopback(f), 0)).map(|_| ()),
            Err(ErrorCode::InvalidArgument)
        );
        Ok(())
    });
    per_family(cases, ipv6, "connect/wrong-family", |net, f| {
        let wrong = if f == V4 { loopback(V6) } else { loopback(V4) };
        let s = socket(f)?;
        expect!(
            connect_blocking(&s, net, sa(wrong, SOME_PORT)).map(|_| ()),
            Err(ErrorCode::InvalidArgument)
        );
        Ok(())
    });
    once(cases, "connect/non-unicast/v4", |net| {
        for ip in [
            IpAddress::Ipv4((255, 255, 255, 255)),
            IpAddress::Ipv4((224, 254, 0, 0)),
        ] {
            let s = socket(V4)?;
            expect!(
                connect_blocking(&s, net, sa(ip, SOME_PORT)).map(|_| ()),
                Err(ErrorCode::InvalidArgument)
            );
        }
        Ok(())
    });
    per_family(cases, ipv6, "connect/refused", |net, f| {
        // A port just freed: nothing listens there any more.
        let port = {
            let (_l, addr) = listener(net, f)?;
            port_of(&addr)
        };
        let s = socket(f)?;
        expect!(
            connect_blocking(&s, net, sa(loopback(f), port)).map(|_| ()),
            Err(ErrorCode::ConnectionRefused)
        );
        // The failed socket stays failed: no second connect, no streams.
        expect!(
            s.finish_connect().map(|_| ()),
            Err(ErrorCode::NotInProgress)
        );
        expect!(s.remote_address(), Err(_));
        Ok(())
    });
    per_family(cases, ipv6, "connect/explicit-bind", |net, f| {
        let (_l, addr) = listener(net, f)?;
        let client = socket(f)?;
        bind_blocking(&client, net, sa(loopback(f), 0)).map_err(|e| format!("bind: {e:?}"))?;
        let local = client.local_address().map_err(|e| format!("{e:?}"))?;
        connect_blocking(&client, net, addr).map_err(|e| format!("connect: {e:?}"))?;
        ensure!(
            same_addr(client.local_address(), Ok(local)),
            "the connect kept the address bound before"
        );
        Ok(())
    });
    per_family(cases, ipv6, "connect/listen-accept", |net, f| {
        let (l, addr) = listener(net, f)?;
        let client = socket(f)?;
        connect_blocking(&client, net, addr).map_err(|e| format!("connect: {e:?}"))?;
        let (accepted, _, _) = accept_blocking(&l).map_err(|e| format!("accept: {e:?}"))?;
        ensure!(accepted.address_family() == f, "accepted socket's family");
        ensure!(!accepted.is_listening(), "accepted socket listens");
        ensure!(
            same_addr(accepted.remote_address(), client.local_address()),
            "accepted socket's peer is the client"
        );
        ensure!(
            same_addr(accepted.local_address(), Ok(addr)),
            "accepted socket's own address is the listener's"
        );
        // No second connection is waiting.
        expect!(l.accept().map(|_| ()), Err(ErrorCode::WouldBlock));
        Ok(())
    });
    if ipv6 {
        once(cases, "connect/non-unicast/v6", |net| {
            let s = socket(V6)?;
            let multicast = IpAddress::Ipv6((0xff00, 0, 0, 0, 0, 0, 0, 0));
            expect!(
                connect_blocking(&s, net, sa(multicast, SOME_PORT)).map(|_| ()),
                Err(ErrorCode::InvalidArgument)
            );
            Ok(())
        });
        once(cases, "connect/dual-stack", |net| {
            let (_l, v4_addr) = listener(net, V4)?;
            let mapped = sa(
                IpAddress::Ipv6((0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)),
                port_of(&v4_addr),
            );
            let s = socket(V6)?;
            // Neither the IPv4 address nor its IPv4-mapped form, on an IPv6 socket.
            expect!(
                connect_blocking(&s, net, v4_addr).map(|_| ()),
                Err(ErrorCode::InvalidArgument)
            );
            expect!(
                connect_blocking(&s, net, mapped).map(|_| ()),
                Err(ErrorCode::InvalidArgument)
            );
            Ok(())
        });
    }
}

// ----- streams (p2_tcp_streams) -----

struct End {
    input: InputStream,
    output: OutputStream,
    socket: TcpSocket,
}

/// A connected pair on loopback: (the accepted end, the client end).
fn pair(net: &Network, f: IpAddressFamily) -> Result<(End, End), String> {
    let (l, addr) = listener(net, f)?;
    let socket = self::socket(f)?;
    let (input, output) =
        connect_blocking(&socket, net, addr).map_err(|e| format!("connect: {e:?}"))?;
    let client = End {
        input,
        output,
        socket,
    };
    let (socket, input, output) = accept_blocking(&l).map_err(|e| format!("accept: {e:?}"))?;
    Ok((
        End {
            input,
            output,
            socket,
        },
        client,
    ))
}

const LOREM: &[u8] = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod \
    tempor incididunt ut labore et dolore magna aliqua.";

fn streams(cases: &mut Cases, ipv6: bool) {
    per_family(cases, ipv6, "streams/round-trip", |net, f| {
        let (server, client) = pair(net, f)?;
        write_all(&client.output, LOREM).map_err(|e| format!("client write: {e:?}"))?;
        client
            .socket
            .shutdown(ShutdownType::Send)
            .map_err(|e| format!("{e:?}"))?;
        let got = read_to_end(&server.input)?;
        ensure!(
            got == LOREM,
            "server read {} bytes, want {}",
            got.len(),
            LOREM.len()
        );
        write_all(&server.output, b"pong").map_err(|e| format!("server write: {e:?}"))?;
        drop(server);
        let got = read_to_end(&client.input)?;
        ensure!(got == b"pong", "client read {got:?}");
        Ok(())
    });
    per_family(
        cases,
        ipv6,
        "streams/closed-by-remote-shutdown",
        |net, f| {
            let (server, client) = pair(net, f)?;
            server
                .socket
                .shutdown(ShutdownType::Both)
                .map_err(|e| format!("{e:?}"))?;
            drop(server);
            client.input.subscribe().block();
            // Closed, not an empty read (which would mean "try again").
            ensure!(
                matches!(client.input.read(10), Err(StreamError::Closed)),
                "read after the peer's shutdown is not closed"
            );
            ensure!(
                matches!(client.input.read(0), Err(StreamError::Closed)),
                "read(0) after the peer's shutdown is not closed"
            );
            Ok(())
        },
    );
    per_family(cases, ipv6, "streams/closed-by-local-shutdown", |net, f| {
        let (server, client) = pair(net, f)?;
        // Data waiting: Linux would still hand it out after SHUT_RD; WASI must not.
        write_all(&server.output, LOREM).map_err(|e| format!("write: {e:?}"))?;
        client.input.subscribe().block();
        client
            .socket
            .shutdown(ShutdownType::Receive)
            .map_err(|e| format!("{e:?}"))?;
        ensure!(
            matches!(client.input.read(10), Err(StreamError::Closed)),
            "read after shutdown(receive) is not closed"
        );
        ensure!(
            matches!(client.input.read(0), Err(StreamError::Closed)),
            "read(0) after shutdown(receive) is not closed"
        );
        Ok(())
    });
    per_family(
        cases,
        ipv6,
        "streams/output-closed-by-local-shutdown",
        |net, f| {
            let (_server, client) = pair(net, f)?;
            let permit = client.output.check_write().map_err(|e| format!("{e:?}"))?;
            ensure!(permit >= 3, "check-write permits {permit}");
            client
                .socket
                .shutdown(ShutdownType::Send)
                .map_err(|e| format!("{e:?}"))?;
            ensure!(
                matches!(client.output.write(b"Hi!"), Err(StreamError::Closed)),
                "write after shutdown(send) is not closed"
            );
            ensure!(
                matches!(client.output.check_write(), Err(StreamError::Closed)),
                "check-write after shutdown(send) is not closed"
            );
            ensure!(
                matches!(client.output.flush(), Err(StreamError::Closed)),
                "flush after shutdown(send) is not closed"
            );
            Ok(())
        },
    );
    per_family(
        cases,
        ipv6,
        "streams/shutdown-keeps-data-in-flight",
        |net, f| {
            let (server, client) = pair(net, f)?;
            expect!(client.socket.set_send_buffer_size(1024), Ok(()));
            let small = client
                .socket
                .send_buffer_size()
                .map_err(|e| format!("{e:?}"))?;
            let big = client
                .output
                .check_write()
                .map_err(|e| format!("{e:?}"))?
                .min(100 * small);
            ensure!(
                big > small,
                "check-write {big} is not above the send buffer {small}"
            );
            let data = vec![0u8; big as usize];
            client
                .output
                .write(&data)
                .map_err(|e| format!("write: {e:?}"))?;
            client
                .socket
                .shutdown(ShutdownType::Send)
                .map_err(|e| format!("{e:?}"))?;
            let got = read_to_end(&server.input)?;
            ensure!(
                got.len() == data.len(),
                "peer got {} of {} bytes",
                got.len(),
                data.len()
            );
            Ok(())
        },
    );
    per_family(
        cases,
        ipv6,
        "streams/check-write-not-rate-limited",
        |net, f| {
            let (_server, client) = pair(net, f)?;
            client.output.subscribe().block();
            for i in 0..1000 {
                let permit = client.output.check_write().map_err(|e| format!("{e:?}"))?;
                ensure!(
                    permit > 0,
                    "check-write permits 0 on an idle stream after {i} calls"
                );
            }
            Ok(())
        },
    );
    per_family(cases, ipv6, "streams/nonblocking-write-loop", |net, f| {
        let (server, client) = pair(net, f)?;
        client.output.subscribe().block();
        const COUNT: usize = 300;
        for i in 0..COUNT {
            let permit = client.output.check_write().map_err(|e| format!("{e:?}"))?;
            ensure!(permit > 0, "check-write permits 0 after {i} small writes");
            client
                .output
                .write(b"x")
                .map_err(|e| format!("write {i}: {e:?}"))?;
        }
        client
            .socket
            .shutdown(ShutdownType::Send)
            .map_err(|e| format!("{e:?}"))?;
        let got = read_to_end(&server.input)?;
        ensure!(
            got.len() == COUNT,
            "peer got {} of {COUNT} bytes",
            got.len()
        );
        Ok(())
    });
    per_family(cases, ipv6, "streams/write-to-closed-peer", |net, f| {
        let (server, client) = pair(net, f)?;
        // The peer goes away entirely; writes soon learn it (the first may still be taken
        // by the kernel). Whatever the error, the stream never takes data silently forever.
        drop(server);
        client.input.subscribe().block();
        ensure!(
            matches!(client.input.read(1), Err(StreamError::Closed)),
            "read after the peer closed is not closed"
        );
        for _ in 0..100 {
            match write_all(&client.output, b"are you there?") {
                Ok(()) => {}
                Err(StreamError::Closed | StreamError::LastOperationFailed(_)) => return Ok(()),
            }
        }
        Err("100 writes to a closed peer all succeeded".into())
    });
}
