// Command broker_host is a go-plugin 1.0.1 host that uses go-plugin's
// GRPCBroker both ways with the plugin given as its arguments (the KV
// application's handshake; tests/interop/deno_broker_plugin.ts or
// tests/interop/broker_plugin), for tests/interop/broker_host_test.ts:
//
//  1. it serves a Counter under a broker id of its own (AcceptAndServe) and
//     asks the plugin to call it (Callbacks.AddViaBroker);
//  2. it asks the plugin to serve a Counter (Callbacks.ServeCounter) and
//     dials the id the plugin answers (broker.Dial);
//  3. it Kill()s the plugin.
//
// It prints one result per line on stdout; go-plugin's logs go to stderr.
//
// Usage: broker_host [-socket PATH] [-automtls] <plugin command> [args...]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"bulkhead/examples/kv-go/kv"
	"bulkhead/interop/broker_plugin/callbackpb"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

type callbacksClient struct {
	broker *plugin.GRPCBroker
	rpc    callbackpb.CallbacksClient
}

type callbacksPlugin struct{ plugin.Plugin }

func (callbacksPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return fmt.Errorf("broker_host is a host only")
}

func (callbacksPlugin) GRPCClient(_ context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return &callbacksClient{broker: b, rpc: callbackpb.NewCallbacksClient(c)}, nil
}

type counter struct {
	mu      sync.Mutex
	total   int64
	callers []string
}

func (c *counter) Add(_ context.Context, r *callbackpb.AddRequest) (*callbackpb.AddResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += r.Delta
	c.callers = append(c.callers, r.Caller)
	return &callbackpb.AddResponse{Total: c.total, ServedBy: "go-host"}, nil
}

func main() {
	socket := flag.String("socket", "", "the socket path to pass as BULKHEAD_PLUGIN_SOCKET")
	autoMTLS := flag.Bool("automtls", false, "use go-plugin's AutoMTLS")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: broker_host [-socket PATH] [-automtls] <plugin command> [args...]")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	if *socket != "" {
		cmd.Env = []string{"BULKHEAD_PLUGIN_SOCKET=" + *socket}
	}
	if err := run(cmd, *autoMTLS); err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
}

func run(cmd *exec.Cmd, autoMTLS bool) error {
	client := plugin.NewClient(&plugin.ClientConfig{
		AutoMTLS:         autoMTLS,
		HandshakeConfig:  kv.Handshake,
		Plugins:          map[string]plugin.Plugin{"callbacks": callbacksPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     30 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:   "broker-host",
			Output: os.Stderr,
			Level:  hclog.Debug,
		}),
	})
	defer client.Kill()

	rpc, err := client.Client()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Printf("pid %d\n", client.ReattachConfig().Pid)
	raw, err := rpc.Dispense("callbacks")
	if err != nil {
		return fmt.Errorf("dispense: %w", err)
	}
	cb := raw.(*callbacksClient)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// 1. plugin → host
	mine := &counter{}
	id := cb.broker.NextId()
	go cb.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		callbackpb.RegisterCounterServer(s, mine)
		return s
	})
	added, err := cb.rpc.AddViaBroker(ctx, &callbackpb.AddViaBrokerRequest{BrokerId: id, Delta: 5, Times: 3})
	if err != nil {
		fmt.Printf("add-via-broker error %v\n", err)
	} else {
		mine.mu.Lock()
		fmt.Printf("add-via-broker total=%d served-by=%s callers=%s\n", added.Total, added.ServedBy, strings.Join(mine.callers, ","))
		mine.mu.Unlock()
	}

	// 2. host → plugin
	served, err := cb.rpc.ServeCounter(ctx, &callbackpb.ServeCounterRequest{})
	if err != nil {
		return fmt.Errorf("serve counter: %w", err)
	}
	conn, err := cb.broker.Dial(served.BrokerId)
	if err != nil {
		return fmt.Errorf("dial broker id %d: %w", served.BrokerId, err)
	}
	theirs := callbackpb.NewCounterClient(conn)
	var last *callbackpb.AddResponse
	for _, delta := range []int64{4, 3} {
		if last, err = theirs.Add(ctx, &callbackpb.AddRequest{Delta: delta, Caller: "go-host"}); err != nil {
			return fmt.Errorf("call the plugin's Counter: %w", err)
		}
	}
	conn.Close()
	fmt.Printf("dial total=%d served-by=%s\n", last.Total, last.ServedBy)

	start := time.Now()
	client.Kill()
	fmt.Printf("killed exited=%t graceful=%t\n", client.Exited(), time.Since(start) < 2*time.Second)
	return nil
}
