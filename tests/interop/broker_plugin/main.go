// Command broker_plugin is a go-plugin (1.0.1) gRPC plugin that uses
// go-plugin's GRPCBroker both ways, for tests/interop/broker_test.ts:
// AddViaBroker dials a Counter its host serves under a broker id and calls
// it; ServeCounter serves a Counter of its own under a new broker id for the
// host to dial. It speaks the KV application's handshake (cookie and
// version) so the tests can reuse it.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"bulkhead/examples/kv-go/kv"
	"bulkhead/interop/broker_plugin/callbackpb"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

type callbacks struct {
	broker *plugin.GRPCBroker
	log    hclog.Logger
}

func (c *callbacks) AddViaBroker(ctx context.Context, r *callbackpb.AddViaBrokerRequest) (*callbackpb.AddViaBrokerResponse, error) {
	conn, err := c.broker.Dial(r.BrokerId)
	if err != nil {
		return nil, fmt.Errorf("dial broker id %d: %w", r.BrokerId, err)
	}
	defer conn.Close()
	counter := callbackpb.NewCounterClient(conn)
	out := &callbackpb.AddViaBrokerResponse{}
	for i := int32(0); i < r.Times; i++ {
		res, err := counter.Add(ctx, &callbackpb.AddRequest{Delta: r.Delta, Caller: "plugin"})
		if err != nil {
			return nil, fmt.Errorf("call the host's Counter: %w", err)
		}
		out.Total, out.ServedBy = res.Total, res.ServedBy
	}
	c.log.Info("added via broker", "id", r.BrokerId, "total", out.Total)
	return out, nil
}

func (c *callbacks) ServeCounter(context.Context, *callbackpb.ServeCounterRequest) (*callbackpb.ServeCounterResponse, error) {
	id := c.broker.NextId()
	go c.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		callbackpb.RegisterCounterServer(s, &counter{})
		return s
	})
	c.log.Info("serving a counter", "id", id)
	return &callbackpb.ServeCounterResponse{BrokerId: id}, nil
}

type counter struct {
	mu    sync.Mutex
	total int64
}

func (c *counter) Add(_ context.Context, r *callbackpb.AddRequest) (*callbackpb.AddResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += r.Delta
	return &callbackpb.AddResponse{Total: c.total, ServedBy: "plugin"}, nil
}

type callbacksPlugin struct {
	plugin.Plugin
	log hclog.Logger
}

func (p *callbacksPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	callbackpb.RegisterCallbacksServer(s, &callbacks{broker: broker, log: p.log})
	return nil
}

func (p *callbacksPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (interface{}, error) {
	return nil, fmt.Errorf("broker_plugin is a plugin only")
}

func main() {
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "broker-plugin",
		Level:      hclog.Debug,
		Output:     os.Stderr,
		JSONFormat: true,
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: kv.Handshake,
		Plugins:         map[string]plugin.Plugin{"callbacks": &callbacksPlugin{log: logger}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          logger,
	})
}
