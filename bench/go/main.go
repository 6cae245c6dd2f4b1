// Command bench is the grpc-go side of Bulkhead's transport benchmark
// (bench/transport_bench.ts): a server echoing InteropService/Unary,
// InteropService/Bidi and BatchProcessorService/ProcessBatch, and a client
// that measures them against a server, over a Unix socket.
//
//	bench server SOCKET
//	    serve until stdin closes; prints READY when listening
//	bench client SOCKET WARMUP N64 N4K N1M MILLIS BATCH ITEM
//	    print one JSON line per figure (the same figures the Deno client measures)
//
// Its message types are generated at build time by Debian's protoc and
// protoc-gen-go (plugins=grpc) from proto/bulkhead/testing/v1/interop.proto
// and proto/redpanda/runtime/v1alpha1/*.proto.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	testingv1 "bulkhead/testing/v1"
	runtimev1 "redpanda/runtime/v1alpha1"

	"google.golang.org/grpc"
)

const maxMessage = 64 << 20

type interop struct {
	testingv1.UnimplementedInteropServiceServer
}

func (*interop) Unary(_ context.Context, req *testingv1.InteropRequest) (*testingv1.InteropResponse, error) {
	return &testingv1.InteropResponse{Payload: req.Payload}, nil
}

func (*interop) Bidi(stream testingv1.InteropService_BidiServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testingv1.InteropResponse{Payload: req.Payload}); err != nil {
			return err
		}
	}
}

type processor struct {
	runtimev1.UnimplementedBatchProcessorServiceServer
}

func (*processor) ProcessBatch(_ context.Context, req *runtimev1.BatchProcessorProcessBatchRequest) (*runtimev1.BatchProcessorProcessBatchResponse, error) {
	return &runtimev1.BatchProcessorProcessBatchResponse{Batches: []*runtimev1.MessageBatch{req.Batch}}, nil
}

func serve(path string) {
	lis, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot listen:", err)
		os.Exit(1)
	}
	s := grpc.NewServer(grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))
	testingv1.RegisterInteropServiceServer(s, &interop{})
	runtimev1.RegisterBatchProcessorServiceServer(s, &processor{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		s.Stop()
	}()
	fmt.Println("READY")
	_ = s.Serve(lis)
}

func emit(figure string, fields map[string]float64) {
	out := map[string]interface{}{"figure": figure}
	for k, v := range fields {
		out[k] = v
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

func percentile(sorted []float64, p float64) float64 {
	i := int(float64(len(sorted)) * p)
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func latency(ctx context.Context, c testingv1.InteropServiceClient, size, warmup, n int) map[string]float64 {
	req := &testingv1.InteropRequest{Payload: make([]byte, size)}
	for i := 0; i < warmup; i++ {
		must(c.Unary(ctx, req))
	}
	times := make([]float64, n)
	for i := range times {
		start := time.Now()
		must(c.Unary(ctx, req))
		times[i] = float64(time.Since(start).Nanoseconds()) / 1e3
	}
	sort.Float64s(times)
	return map[string]float64{"p50": percentile(times, 0.5), "p99": percentile(times, 0.99)}
}

func must(_ interface{}, err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "call failed:", err)
		os.Exit(1)
	}
}

func concurrent(ctx context.Context, c testingv1.InteropServiceClient, d time.Duration) float64 {
	req := &testingv1.InteropRequest{Payload: make([]byte, 64)}
	var calls int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				must(c.Unary(ctx, req))
				atomic.AddInt64(&calls, 1)
			}
		}()
	}
	wg.Wait()
	return float64(calls) / time.Since(start).Seconds()
}

func bidi(ctx context.Context, c testingv1.InteropServiceClient, d time.Duration) float64 {
	stream, err := c.Bidi(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bidi failed:", err)
		os.Exit(1)
	}
	start := time.Now()
	deadline := start.Add(d)
	go func() {
		req := &testingv1.InteropRequest{Payload: make([]byte, 64)}
		for time.Now().Before(deadline) {
			if err := stream.Send(req); err != nil {
				return
			}
		}
		_ = stream.CloseSend()
	}()
	received := 0
	for {
		_, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bidi failed:", err)
			os.Exit(1)
		}
		received++
	}
	return float64(received) / time.Since(start).Seconds()
}

func batch(ctx context.Context, c runtimev1.BatchProcessorServiceClient, d time.Duration, items, size int) float64 {
	messages := make([]*runtimev1.Message, items)
	for i := range messages {
		messages[i] = &runtimev1.Message{Payload: &runtimev1.Message_Bytes{Bytes: make([]byte, size)}}
	}
	req := &runtimev1.BatchProcessorProcessBatchRequest{Batch: &runtimev1.MessageBatch{Messages: messages}}
	for i := 0; i < 20; i++ {
		must(c.ProcessBatch(ctx, req))
	}
	calls := 0
	start := time.Now()
	for time.Since(start) < d {
		res, err := c.ProcessBatch(ctx, req)
		if err != nil || len(res.Batches) != 1 || len(res.Batches[0].Messages) != items {
			fmt.Fprintln(os.Stderr, "batch failed:", err)
			os.Exit(1)
		}
		calls++
	}
	return float64(calls*items) / time.Since(start).Seconds()
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "not a number:", s)
		os.Exit(2)
	}
	return n
}

func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

func client(args []string) {
	if len(args) != 8 {
		fmt.Fprintln(os.Stderr, "usage: bench client SOCKET WARMUP N64 N4K N1M MILLIS BATCH ITEM")
		os.Exit(2)
	}
	warmup, n64, n4k, n1m := atoi(args[1]), atoi(args[2]), atoi(args[3]), atoi(args[4])
	d := time.Duration(atoi(args[5])) * time.Millisecond
	items, size := atoi(args[6]), atoi(args[7])
	ctx := context.Background()
	conn, err := grpc.DialContext(ctx, "passthrough:///"+args[0],
		grpc.WithInsecure(),
		grpc.WithContextDialer(dialUnix),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot dial:", err)
		os.Exit(1)
	}
	defer conn.Close()
	c := testingv1.NewInteropServiceClient(conn)
	emit("unary 64 B", latency(ctx, c, 64, warmup, n64))
	emit("unary 4 KiB", latency(ctx, c, 4096, warmup/4, n4k))
	emit("unary 1 MiB", latency(ctx, c, 1<<20, 10, n1m))
	emit("64 in flight", map[string]float64{"perSecond": concurrent(ctx, c, d)})
	emit("bidi 64 B", map[string]float64{"perSecond": bidi(ctx, c, d)})
	emit("batch", map[string]float64{"perSecond": batch(ctx, runtimev1.NewBatchProcessorServiceClient(conn), d, items, size)})
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: bench server|client SOCKET …")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		serve(os.Args[2])
	case "client":
		client(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: bench server|client SOCKET …")
		os.Exit(2)
	}
}
