"""A tiny HTTP CONNECT proxy for the host's TLS tests: it answers `HTTP/1.1 200 Connection
established`, then relays both ways until each side has half-closed.

Prints `listening on 127.0.0.1:PORT` first, then one JSON object a line per connection
(`conn` numbers them from 0):

  {"conn": n, "head": "..."}               the CONNECT request head, exactly (latin-1)
  {"conn": n, "up": k, "down": m}          the relay ended: k bytes client->origin, m back
  {"conn": n, "error": "..."}              something failed

With --record DIR, the bytes relayed client->origin on connection n are written to
DIR/up-n.bin when the relay ends (the test checks the proxy saw ciphertext only).
"""

import argparse
import json
import os
import socket
import sys
import threading

LIMIT = 20.0
lock = threading.Lock()


def log(**event):
    with lock:
        print(json.dumps(event), flush=True)


def pump(src, dst, seen):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            seen.extend(data)
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(n, client, record):
    client.settimeout(LIMIT)
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(4096)
            if not data:
                raise EOFError(f"EOF in the CONNECT head after {head!r}")
            head += data
        head, rest = head.split(b"\r\n\r\n", 1)
        head += b"\r\n\r\n"
        log(conn=n, head=head.decode("latin-1"))
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        host, port = target.rsplit(":", 1)
        origin = socket.create_connection((host.strip("[]"), int(port)), timeout=LIMIT)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        up, down = bytearray(rest), bytearray()
        if rest:
            origin.sendall(rest)
        t = threading.Thread(target=pump, args=(origin, client, down), daemon=True)
        t.start()
        pump(client, origin, up)
        t.join(LIMIT)
        if record:
            with open(os.path.join(record, f"up-{n}.bin"), "wb") as f:
                f.write(up)
        log(conn=n, up=len(up), down=len(down))
        origin.close()
        client.close()
    except Exception as e:  # noqa: BLE001 - every failure is reported, the proxy goes on
        log(conn=n, error=f"{type(e).__name__}: {e}")
        client.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--record")
    args = p.parse_args()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print("listening on %s:%d" % listener.getsockname(), flush=True)
    n = 0
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(n, client, args.record), daemon=True).start()
        n += 1


if __name__ == "__main__":
    sys.exit(main())
