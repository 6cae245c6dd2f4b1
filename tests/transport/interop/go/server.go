package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	testingv1 "bulkhead/testing/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// interopServer implements InteropService as the Deno and Python servers do.
type interopServer struct {
	mu    sync.Mutex
	ended map[string]*testingv1.ObserveResponse
	wake  chan struct{}
}

func failure(req *testingv1.InteropRequest) error {
	st := status.New(codes.Code(req.FailCode), req.FailMessage)
	if req.FailWithDetails {
		withDetails, err := st.WithDetails(&testingv1.InteropDetail{Reason: "because", Attempt: 3})
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		st = withDetails
	}
	return st.Err()
}

func (s *interopServer) hang(ctx context.Context, tag string) error {
	<-ctx.Done()
	ended, code := "canceled", codes.Canceled
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		ended, code = "deadline", codes.DeadlineExceeded
	}
	s.mu.Lock()
	_, hadDeadline := ctx.Deadline()
	s.ended[tag] = &testingv1.ObserveResponse{Ended: ended, HadDeadline: hadDeadline}
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
	return status.Error(code, ended)
}

func (s *interopServer) Unary(ctx context.Context, req *testingv1.InteropRequest) (*testingv1.InteropResponse, error) {
	if req.HangTag != "" {
		return nil, s.hang(ctx, req.HangTag)
	}
	if req.FailCode != 0 {
		return nil, failure(req)
	}
	return &testingv1.InteropResponse{Payload: req.Payload}, nil
}

func (s *interopServer) ServerStream(req *testingv1.InteropRequest, stream testingv1.InteropService_ServerStreamServer) error {
	for i := int32(0); i < req.Count; i++ {
		if err := stream.Send(&testingv1.InteropResponse{Payload: req.Payload, Index: i}); err != nil {
			return err
		}
	}
	if req.HangTag != "" {
		return s.hang(stream.Context(), req.HangTag)
	}
	if req.FailCode != 0 {
		return failure(req)
	}
	return nil
}

func (s *interopServer) ClientStream(stream testingv1.InteropService_ClientStreamServer) error {
	var count int32
	var bytes int64
	var last []byte
	var fail *testingv1.InteropRequest
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if req.HangTag != "" {
			return s.hang(stream.Context(), req.HangTag)
		}
		if req.FailCode != 0 && fail == nil {
			fail = req
		}
		count++
		bytes += int64(len(req.Payload))
		last = req.Payload
	}
	if fail != nil {
		return failure(fail)
	}
	return stream.SendAndClose(&testingv1.InteropResponse{Payload: last, Index: count, ReceivedBytes: bytes})
}

func (s *interopServer) Bidi(stream testingv1.InteropService_BidiServer) error {
	for i := int32(0); ; i++ {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if req.HangTag != "" {
			return s.hang(stream.Context(), req.HangTag)
		}
		if req.FailCode != 0 {
			return failure(req)
		}
		if err := stream.Send(&testingv1.InteropResponse{Payload: req.Payload, Index: i}); err != nil {
			return err
		}
	}
}

func (s *interopServer) Observe(ctx context.Context, req *testingv1.ObserveRequest) (*testingv1.ObserveResponse, error) {
	timeout := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		res, ok := s.ended[req.Tag]
		wake := s.wake
		s.mu.Unlock()
		if ok {
			return res, nil
		}
		select {
		case <-wake:
		case <-timeout:
			return nil, status.Errorf(codes.NotFound, "no call with tag %q ended", req.Tag)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func serve(path string) {
	listener, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot listen:", err)
		os.Exit(1)
	}
	server := grpc.NewServer(grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))
	testingv1.RegisterInteropServiceServer(server, &interopServer{
		ended: map[string]*testingv1.ObserveResponse{},
		wake:  make(chan struct{}),
	})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		done := make(chan struct{})
		go func() { server.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			server.Stop()
		}
	}()
	fmt.Println("READY")
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "cannot serve:", err)
		os.Exit(1)
	}
}
