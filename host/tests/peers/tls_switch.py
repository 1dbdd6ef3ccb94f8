"""A TLS server for the host's TLS tests: it answers every request head with a `101` and then
echoes until the client's TLS `close_notify`.

Prints `listening on 127.0.0.1:PORT` first, then one JSON object a line for what happens on
each connection (`conn` numbers them from 0):

  {"conn": n, "head": "..."}             the request head received, exactly (latin-1)
  {"conn": n, "client_cn": "..."}        the client certificate's CN (with --client-ca)
  {"conn": n, "sent": k}                 the 101 head and the early bytes were sent (k bytes)
  {"conn": n, "echoed": k, "eof": "close_notify" | "unclean: ..."}   the echo ended
  {"conn": n, "error": "..."}            the handshake or the exchange failed

After a failed handshake the server half-closes and reads until the client closes (it does
not reset the connection under the client's last writes: its alert gets there).

Options:
  --cert, --key     the server's certificate chain and key (PEM)
  --client-ca PEM   require a client certificate issued by this CA (mutual TLS)
  --early TEXT / --early-file PATH   bytes sent right after the 101 head
  --chunks SEED     send the 101 head and the early bytes as TLS records of random sizes (one
                    `sendall` each, with a short pause now and then), not in one record
  --tls12           offer TLS 1.2 only

A connection ends with `unwrap()` (our own `close_notify`) and then the socket's close.
"""

import argparse
import json
import random
import socket
import ssl
import sys
import threading
import time

LIMIT = 20.0
SWITCH = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n"

lock = threading.Lock()


def log(**event):
    with lock:
        print(json.dumps(event), flush=True)


def chunks(data, seed):
    """`data` cut at random places: sizes from 1 byte to a few KiB."""
    rng = random.Random(seed)
    at = 0
    while at < len(data):
        size = rng.choice([1, 2, 3, rng.randint(1, 40), rng.randint(1, 5000)])
        yield data[at : at + size], rng.random() < 0.2
        at += size


def linger(conn):
    """Close after a failed handshake as a careful server does: OpenSSL has sent its alert;
    half-close, then read what the client still sends until its close, so that the client's
    last writes are not answered by a reset that could overtake the alert."""
    try:
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass
    except OSError:
        pass
    conn.close()


def serve(n, raw, ctx, args, early):
    raw.settimeout(LIMIT)
    conn = ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
    try:
        conn.do_handshake()
    except Exception as e:  # noqa: BLE001 - reported; then a graceful close
        log(conn=n, error=f"{type(e).__name__}: {e}")
        linger(conn)
        return
    try:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            b = conn.recv(1)
            if not b:
                raise EOFError(f"EOF in the request head after {head!r}")
            head += b
        log(conn=n, head=head.decode("latin-1"))
        if args.client_ca:
            subject = dict(x[0] for x in conn.getpeercert()["subject"])
            log(conn=n, client_cn=subject.get("commonName"))
        reply = SWITCH + early
        if args.chunks is None:
            conn.sendall(reply)
        else:
            for piece, pause in chunks(reply, args.chunks):
                conn.sendall(piece)
                if pause:
                    time.sleep(0.002)
        log(conn=n, sent=len(reply))
        echoed = 0
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    eof = "close_notify"
                    break
                conn.sendall(data)
                echoed += len(data)
        except (ssl.SSLEOFError, ConnectionError) as e:
            eof = f"unclean: {e}"
        log(conn=n, echoed=echoed, eof=eof)
        if eof == "close_notify":
            conn.unwrap().close()
        else:
            conn.close()
    except Exception as e:  # noqa: BLE001 - every failure is reported, the server goes on
        log(conn=n, error=f"{type(e).__name__}: {e}")
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca")
    p.add_argument("--early", default="")
    p.add_argument("--early-file")
    p.add_argument("--chunks", type=int)
    p.add_argument("--tls12", action="store_true")
    args = p.parse_args()
    early = args.early.encode()
    if args.early_file:
        with open(args.early_file, "rb") as f:
            early = f.read()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca)
    if args.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print("listening on %s:%d" % listener.getsockname(), flush=True)
    n = 0
    while True:
        raw, _ = listener.accept()
        threading.Thread(target=serve, args=(n, raw, ctx, args, early), daemon=True).start()
        n += 1


if __name__ == "__main__":
    sys.exit(main())
