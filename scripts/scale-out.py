#!/usr/bin/env python3
"""scripts/scale-out's helpers: free loopback ports, a NATS request (the core text protocol over
one socket: no client library), the workload start on a wasmCloud host, and the test that drives
edge-attach through each host against upstreams on the machine's loopback.

Every wait is bounded; every failure exits non-zero with one line saying what went wrong.
"""

import json
import socket
import sys
import threading
import time

# The machine's loopback as a wasmCloud guest names it (the guest's own 127.0.0.1 is its own).
HOST_LOOPBACK = "host.wasmcloud.internal"


def fail(why):
    print(f"scale-out: {why}", file=sys.stderr)
    sys.exit(1)


def free_ports(n):
    """N ports the kernel has just picked on 127.0.0.1 (bound together, so distinct)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def nats_request(addr, subject, payload, timeout):
    """Publish `payload` to `subject` with a reply inbox and return the first reply's bytes."""
    host, port = addr.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        f = s.makefile("rb")
        if not f.readline().startswith(b"INFO "):
            fail(f"{addr} is not a NATS server")
        inbox = f"_INBOX.scale-out.{time.monotonic_ns()}"
        s.sendall(
            b'CONNECT {"verbose":false,"pedantic":false,"name":"scale-out"}\r\n'
            + f"SUB {inbox} 1\r\nPUB {subject} {inbox} {len(payload)}\r\n".encode()
            + payload
            + b"\r\n"
        )
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                line = f.readline()
            except socket.timeout:
                fail(f"no reply to {subject} within {timeout} s (see the host's log)")
            if not line:
                fail(f"NATS closed the connection before a reply to {subject}")
            if line.startswith(b"PING"):
                s.sendall(b"PONG\r\n")
            elif line.startswith(b"-ERR"):
                fail(f"NATS refused the request: {line.decode().strip()}")
            elif line.startswith(b"MSG "):
                size = int(line.split()[-1])
                return f.read(size + 2)[:size]


def start_workload(nats, host_id, image, vhost, upstreams, loopback_ports, timeout):
    """Start edge-attach on one host and wait until it runs."""
    workload_id = "edge-attach"
    request = {
        "workloadId": workload_id,
        "workload": {
            "namespace": "default",
            "name": "edge-attach",
            "witWorld": {
                "components": [
                    {
                        "name": "edge-attach",
                        "image": image,
                        "localResources": {
                            # The component's allow-list (wasi:cli/environment).
                            "environment": {"EDGE_ATTACH_UPSTREAMS": upstreams},
                            # The host's grant of its own loopback ports, one by one; the
                            # host must also run with --allow-host-loopback.
                            "allowedHostLoopbackPorts": [str(p) for p in loopback_ports],
                        },
                    }
                ],
                # Requests reach this workload when their Host header is `vhost`.
                "hostInterfaces": [
                    {
                        "namespace": "wasi",
                        "package": "http",
                        "interfaces": ["incoming-handler"],
                        "config": {"host": vhost},
                    }
                ],
            },
        },
    }
    deadline = time.monotonic() + timeout
    subject = f"runtime.host.{host_id}.workload.start"
    reply = json.loads(nats_request(nats, subject, json.dumps(request).encode(), timeout))
    while True:
        status = reply.get("workloadStatus", {})
        state = status.get("workloadState", "")
        if state == "WORKLOAD_STATE_RUNNING":
            return
        if state not in ("WORKLOAD_STATE_STARTING", ""):
            fail(f"the workload on host {host_id} is {state}: {status.get('message', '')}")
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"the workload on host {host_id} did not run within {timeout} s: {reply}")
        time.sleep(0.1)
        subject = f"runtime.host.{host_id}.workload.status"
        body = json.dumps({"workloadId": workload_id}).encode()
        reply = json.loads(nats_request(nats, subject, body, left))


# --- the test ---------------------------------------------------------------------------------

LIMIT = 10.0

FIRST = b"first\r\n\r\n\x00\x01\x02\xff"
LATER = b"after the half-close\r\n\r\n" + bytes(range(256)) * 1024


class Upstream:
    """A Docker-like daemon on 127.0.0.1:port: for each connection, read the head, send `answer`
    in one write; with `later`, read until the client half-closes, send `later`; then close.
    Records each head and what came after it."""

    def __init__(self, port, answer, later):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.answer, self.later = answer, later
        self.seen = []
        self.done = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.done:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with conn:
            conn.settimeout(LIMIT)
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            head, after = head.split(b"\r\n\r\n", 1)
            conn.sendall(self.answer)
            if self.later is not None:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    after += data
                conn.sendall(self.later)
            self.seen.append((head + b"\r\n\r\n", after))


def get(http, vhost, target):
    """GET `target` from the host at `http` with `Host: vhost`; (status, head, de-chunked body)."""
    host, port = http.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=LIMIT) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {vhost}\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while True:
            data = s.recv(65536)
            if not data:
                break
            raw += data
    head, _, rest = raw.partition(b"\r\n\r\n")
    head = head.decode(errors="replace")
    try:
        status = int(head.split(" ")[1])
    except (IndexError, ValueError):
        fail(f"GET {target} from {http}: no HTTP response, got {raw[:200]!r}")
    if "transfer-encoding: chunked" in head.lower():
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            body += rest[:size]
            if rest[size : size + 2] != b"\r\n":
                fail(f"a malformed chunk from {http}")
            rest = rest[size + 2 :]
    else:
        body = rest
    return status, head, body


def expect(what, got, want):
    if got != want:
        fail(f"{what}: expected {want!r}, got {got!r}")


def check(hosts, vhost, ok_port, refusing_port, denied_port, forbidden_port):
    switching = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + FIRST
    ok = Upstream(ok_port, switching, LATER)
    refusing = Upstream(refusing_port, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", None)
    for name, http in hosts:
        # An attach: the bytes that came with the 101, then those sent after the half-close.
        target = f"{HOST_LOOPBACK}:{ok_port}"
        status, head, body = get(http, vhost, f"/attach?target={target}&path=/containers/{name}/attach")
        expect(f"host {name}: attach status ({head})", status, 200)
        expect(f"host {name}: attach body", body, FIRST + LATER)
        want_head = (
            f"POST /containers/{name}/attach HTTP/1.1\r\nHost: {target}\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        ).encode()
        expect(f"host {name}: what the upstream saw", ok.seen[-1], (want_head, b""))

        # A refusal: the upstream answers 404.
        status, _, body = get(http, vhost, f"/attach?target={HOST_LOOPBACK}:{refusing_port}")
        expect(f"host {name}: refusal status", status, 502)
        expect(
            f"host {name}: refusal body",
            body,
            b"upstream answered 404 Not Found instead of switching protocols\n",
        )

        # On the component's list but not granted by the workload: the runtime denies it.
        target = f"{HOST_LOOPBACK}:{denied_port}"
        status, _, body = get(http, vhost, f"/attach?target={target}")
        expect(f"host {name}: denied status", status, 502)
        want = f"connecting to upstream {target} was denied: "
        expect(f"host {name}: denied body", body[: len(want)], want.encode())

        # Not on the component's list: refused before any dial.
        for target in [f"{HOST_LOOPBACK}:{forbidden_port}", f"127.0.0.1:{ok_port}"]:
            status, _, body = get(http, vhost, f"/attach?target={target}")
            expect(f"host {name}: {target} status", status, 403)
            expect(
                f"host {name}: {target} body",
                body,
                f"upstream {target} is not allowed: it is not in EDGE_ATTACH_UPSTREAMS\n".encode(),
            )
        print(f"scale-out: host {name} ({http}): attach, refusal, denied and forbidden upstreams ok")
    expect("attaches the upstream served", len(ok.seen), len(hosts))
    expect("refusals the upstream served", len(refusing.seen), len(hosts))
    ok.done = refusing.done = True


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "free-ports":
        print(" ".join(map(str, free_ports(int(args[0])))))
    elif cmd == "request":
        print(nats_request(args[0], args[1], sys.stdin.buffer.read(), float(args[2])).decode())
    elif cmd == "start":
        nats, host_id, image, vhost, upstreams, ports, timeout = args
        start_workload(nats, host_id, image, vhost, upstreams, ports.split(), float(timeout))
    elif cmd == "check":
        vhost, ports, *hosts = args
        hosts = [tuple(h.split("=", 1)) for h in hosts]
        check(hosts, vhost, *map(int, ports.split()))
    else:
        fail(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
