// yamux_peer is the Go side of tests/interop/yamux_test.ts: hashicorp/yamux
// (Debian's golang-github-hashicorp-yamux-dev, the library go-plugin >= 1.5
// multiplexes with) against Bulkhead's own yamux.
//
//	yamux_peer server SOCKET          listen, take one connection as a yamux
//	                                  server session, echo every stream
//	                                  (prints "ready" once listening)
//	yamux_peer client SOCKET N BYTES  dial as a yamux client, open N streams
//	                                  at once, send BYTES on each, check the
//	                                  echo, then print "ok"
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/hashicorp/yamux"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func pattern(stream, size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte((i*7 + stream) % 251)
	}
	return data
}

func serve(path string) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Println("ready")
	conn, err := ln.Accept()
	if err != nil {
		fail("accept: %v", err)
	}
	session, err := yamux.Server(conn, yamux.DefaultConfig())
	if err != nil {
		fail("session: %v", err)
	}
	for {
		stream, err := session.Accept()
		if err != nil {
			return // the client went away
		}
		go func() {
			_, _ = io.Copy(stream, stream)
			_ = stream.Close()
		}()
	}
}

func client(path string, n, size int) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		fail("dial: %v", err)
	}
	session, err := yamux.Client(conn, yamux.DefaultConfig())
	if err != nil {
		fail("session: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			stream, err := session.Open()
			if err != nil {
				errs <- err
				return
			}
			data := pattern(i, size)
			go func() { _, _ = stream.Write(data) }()
			back := make([]byte, size)
			if _, err := io.ReadFull(stream, back); err != nil {
				errs <- fmt.Errorf("stream %d: %v", i, err)
				return
			}
			if !bytes.Equal(back, data) {
				errs <- fmt.Errorf("stream %d: echo differs", i)
			}
			_ = stream.Close()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fail("%v", err)
	}
	if _, err := session.Ping(); err != nil {
		fail("ping: %v", err)
	}
	fmt.Println("ok")
	_ = session.Close()
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: yamux_peer server SOCKET | client SOCKET N BYTES")
	}
	switch os.Args[1] {
	case "server":
		serve(os.Args[2])
	case "client":
		n, _ := strconv.Atoi(os.Args[3])
		size, _ := strconv.Atoi(os.Args[4])
		client(os.Args[2], n, size)
	default:
		fail("unknown mode %s", os.Args[1])
	}
}
