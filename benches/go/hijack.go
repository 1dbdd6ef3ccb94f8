// Go peers for the benchmarks (host/benches, `bash scripts/bench`): the two Go programs the
// issue measured against, built by scripts/bench when Go is installed.
//
//	hijack-go server            net/http with http.Hijacker: answers `Upgrade: tcp` with a 101,
//	                            then echoes one byte and closes; prints "listening on ADDR".
//	hijack-go echo              the same server, but after the 101 it echoes every byte with
//	                            io.Copy (the buffered ones first; then connection to itself,
//	                            which on Linux is splice(2)) and half-closes (CloseWrite) at
//	                            the client's EOF.
//	hijack-go dial URL          the Go Transport as an upgrade client: GET with Connection:
//	                            Upgrade / Upgrade: tcp, a validated 101, then the connection
//	                            (resp.Body, an io.ReadWriteCloser) copied to stdout with io.Copy.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hijack-go server | echo | dial URL")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		serve(echoOne)
	case "echo":
		serve(echoAll)
	case "dial":
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: hijack-go dial URL")
			os.Exit(2)
		}
		dial(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: hijack-go server | echo | dial URL")
		os.Exit(2)
	}
}

// echoOne reads one byte (it may already sit in the server's reader) and writes it back.
func echoOne(conn net.Conn, rw *bufio.ReadWriter) {
	b, err := rw.ReadByte()
	if err != nil {
		return
	}
	rw.WriteByte(b)
	rw.Flush()
}

// echoAll copies everything back, the buffered bytes first, then half-closes. The rest is
// copied from the connection itself, not through the server's reader, so that Go can splice.
func echoAll(conn net.Conn, rw *bufio.ReadWriter) {
	if _, err := io.CopyN(conn, rw.Reader, int64(rw.Reader.Buffered())); err != nil {
		return
	}
	if _, err := io.Copy(conn, conn); err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.CloseWrite()
	}
}

func serve(after func(net.Conn, *bufio.ReadWriter)) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", l.Addr())
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
			http.Error(w, "upgrade to tcp", http.StatusUpgradeRequired)
			return
		}
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		if rw.Flush() != nil {
			return
		}
		after(conn, rw)
	})
	if err := http.Serve(l, handler); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func dial(url string) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || !strings.EqualFold(resp.Header.Get("Upgrade"), "tcp") {
		fmt.Fprintf(os.Stderr, "not switched: %s\n", resp.Status)
		os.Exit(1)
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		fmt.Fprintln(os.Stderr, "the 101 body is not a connection")
		os.Exit(1)
	}
	if _, err := io.Copy(os.Stdout, conn); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
