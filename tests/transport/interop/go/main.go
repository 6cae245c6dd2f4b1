// Command interop is the grpc-go side of Bulkhead's transport interop tests
// (tests/transport/interop/): an InteropService server and a client that
// runs every case against a server, over a Unix socket.
//
//	interop server SOCKET   serve until stdin closes, then stop gracefully
//	interop client SOCKET   run the cases; one "PASS name" or "FAIL name: why" line each
//
// Its message types are generated at build time from
// proto/bulkhead/testing/v1/interop.proto by Debian's protoc and
// protoc-gen-go (plugins=grpc) into the package bulkhead/testing/v1.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
)

const maxMessage = 64 << 20

func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: interop server|client SOCKET")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		serve(os.Args[2])
	case "client":
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		conn, err := grpc.DialContext(ctx, "passthrough:///"+os.Args[2],
			grpc.WithInsecure(),
			grpc.WithContextDialer(dialUnix),
			grpc.WithDefaultCallOptions(
				grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
		if err != nil {
			fmt.Fprintln(os.Stderr, "cannot dial:", err)
			os.Exit(1)
		}
		defer conn.Close()
		runCases(conn)
	default:
		fmt.Fprintln(os.Stderr, "usage: interop server|client SOCKET")
		os.Exit(2)
	}
}
