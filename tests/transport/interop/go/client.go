package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	testingv1 "bulkhead/testing/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The cases, in order; the Python client runs the same ones.
var cases = []struct {
	name string
	run  func(context.Context, testingv1.InteropServiceClient) error
}{
	{"unary sizes", unarySizes},
	{"server streaming", serverStreaming},
	{"client streaming", clientStreaming},
	{"bidi streaming", bidiStreaming},
	{"error status", errorStatus},
	{"error details", errorDetails},
	{"error after stream messages", streamError},
	{"deadline", deadline},
	{"cancellation", cancellation},
	{"concurrent calls", concurrent},
}

func runCases(conn *grpc.ClientConn) {
	client := testingv1.NewInteropServiceClient(conn)
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := c.run(ctx, client)
		cancel()
		if err != nil {
			fmt.Printf("FAIL %s: %v\n", c.name, err)
		} else {
			fmt.Printf("PASS %s\n", c.name)
		}
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + n)
	}
	return b
}

func unarySizes(ctx context.Context, client testingv1.InteropServiceClient) error {
	for _, n := range []int{0, 1, 64, 16 << 10, 1 << 20, 16 << 20} {
		res, err := client.Unary(ctx, &testingv1.InteropRequest{Payload: pattern(n)})
		if err != nil {
			return fmt.Errorf("%d B: %w", n, err)
		}
		if !bytes.Equal(res.Payload, pattern(n)) {
			return fmt.Errorf("%d B: echo differs (%d B back)", n, len(res.Payload))
		}
	}
	return nil
}

func serverStreaming(ctx context.Context, client testingv1.InteropServiceClient) error {
	stream, err := client.ServerStream(ctx, &testingv1.InteropRequest{Payload: pattern(1000), Count: 200})
	if err != nil {
		return err
	}
	for i := int32(0); ; i++ {
		res, err := stream.Recv()
		if err == io.EOF {
			if i != 200 {
				return fmt.Errorf("%d messages, want 200", i)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if res.Index != i || !bytes.Equal(res.Payload, pattern(1000)) {
			return fmt.Errorf("message %d: index %d, %d B", i, res.Index, len(res.Payload))
		}
	}
}

func clientStreaming(ctx context.Context, client testingv1.InteropServiceClient) error {
	stream, err := client.ClientStream(ctx)
	if err != nil {
		return err
	}
	var total int64
	for i := 0; i < 100; i++ {
		total += int64(i * 100)
		if err := stream.Send(&testingv1.InteropRequest{Payload: pattern(i * 100)}); err != nil {
			return err
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return err
	}
	if res.Index != 100 || res.ReceivedBytes != total || !bytes.Equal(res.Payload, pattern(9900)) {
		return fmt.Errorf("got count %d, %d B, want 100, %d B", res.Index, res.ReceivedBytes, total)
	}
	return nil
}

func bidiStreaming(ctx context.Context, client testingv1.InteropServiceClient) error {
	stream, err := client.Bidi(ctx)
	if err != nil {
		return err
	}
	for i := int32(0); i < 100; i++ {
		payload := pattern(int(i) * 37)
		if i == 99 {
			payload = pattern(4 << 20)
		}
		if err := stream.Send(&testingv1.InteropRequest{Payload: payload}); err != nil {
			return err
		}
		res, err := stream.Recv()
		if err != nil {
			return err
		}
		if res.Index != i || !bytes.Equal(res.Payload, payload) {
			return fmt.Errorf("message %d: index %d, %d B", i, res.Index, len(res.Payload))
		}
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	if _, err := stream.Recv(); err != io.EOF {
		return fmt.Errorf("after half-close: %v, want EOF", err)
	}
	return nil
}

const failMessage = "dénied: 100% \"quoted\"\nline"

func expectStatus(err error, code codes.Code) (*status.Status, error) {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return nil, fmt.Errorf("got %v, want status %s", err, code)
	}
	if st.Code() != code {
		return nil, fmt.Errorf("got %s (%q), want %s", st.Code(), st.Message(), code)
	}
	return st, nil
}

func errorStatus(ctx context.Context, client testingv1.InteropServiceClient) error {
	_, err := client.Unary(ctx, &testingv1.InteropRequest{FailCode: int32(codes.PermissionDenied), FailMessage: failMessage})
	st, err := expectStatus(err, codes.PermissionDenied)
	if err != nil {
		return err
	}
	if st.Message() != failMessage {
		return fmt.Errorf("message %q, want %q", st.Message(), failMessage)
	}
	return nil
}

func errorDetails(ctx context.Context, client testingv1.InteropServiceClient) error {
	_, err := client.Unary(ctx, &testingv1.InteropRequest{
		FailCode: int32(codes.FailedPrecondition), FailMessage: "with details", FailWithDetails: true,
	})
	st, err := expectStatus(err, codes.FailedPrecondition)
	if err != nil {
		return err
	}
	details := st.Details()
	if len(details) != 1 {
		return fmt.Errorf("%d details, want 1", len(details))
	}
	detail, ok := details[0].(*testingv1.InteropDetail)
	if !ok || detail.Reason != "because" || detail.Attempt != 3 {
		return fmt.Errorf("detail %v, want InteropDetail{because, 3}", details[0])
	}
	return nil
}

func streamError(ctx context.Context, client testingv1.InteropServiceClient) error {
	stream, err := client.ServerStream(ctx, &testingv1.InteropRequest{
		Payload: pattern(10), Count: 3, FailCode: int32(codes.Aborted), FailMessage: "after three",
	})
	if err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		if _, err := stream.Recv(); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	_, err = stream.Recv()
	st, err := expectStatus(err, codes.Aborted)
	if err != nil {
		return err
	}
	if st.Message() != "after three" {
		return fmt.Errorf("message %q", st.Message())
	}
	return nil
}

var tagPrefix = "go-" + strconv.FormatInt(time.Now().UnixNano(), 36)

// observe checks how the server saw the call tagged tag end: with a
// deadline ("deadline"), or canceled without one ("canceled").
func observe(ctx context.Context, client testingv1.InteropServiceClient, tag, want string) error {
	res, err := client.Observe(ctx, &testingv1.ObserveRequest{Tag: tag})
	if err != nil {
		return fmt.Errorf("observe: %w", err)
	}
	if want == "deadline" && !res.HadDeadline {
		return fmt.Errorf("the server's handler did not know the deadline")
	}
	if want == "canceled" && (res.Ended != "canceled" || res.HadDeadline) {
		return fmt.Errorf("server saw the call end by %q (deadline: %v), want canceled", res.Ended, res.HadDeadline)
	}
	return nil
}

func deadline(ctx context.Context, client testingv1.InteropServiceClient) error {
	tag := tagPrefix + "-deadline"
	callCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := client.Unary(callCtx, &testingv1.InteropRequest{HangTag: tag})
	if _, err := expectStatus(err, codes.DeadlineExceeded); err != nil {
		return err
	}
	return observe(ctx, client, tag, "deadline")
}

func cancellation(ctx context.Context, client testingv1.InteropServiceClient) error {
	tag := tagPrefix + "-cancel"
	callCtx, cancel := context.WithCancel(context.Background())
	stream, err := client.ServerStream(callCtx, &testingv1.InteropRequest{Payload: pattern(5), Count: 1, HangTag: tag})
	if err != nil {
		cancel()
		return err
	}
	if _, err := stream.Recv(); err != nil {
		cancel()
		return fmt.Errorf("first message: %w", err)
	}
	cancel()
	_, err = stream.Recv()
	if _, err := expectStatus(err, codes.Canceled); err != nil {
		return err
	}
	return observe(ctx, client, tag, "canceled")
}

func concurrent(ctx context.Context, client testingv1.InteropServiceClient) error {
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		go func(i int) {
			res, err := client.Unary(ctx, &testingv1.InteropRequest{Payload: pattern(i)})
			if err == nil && !bytes.Equal(res.Payload, pattern(i)) {
				err = fmt.Errorf("call %d: echo differs", i)
			}
			errs <- err
		}(i)
	}
	for i := 0; i < 200; i++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}
