// Package kv is the key-value plugin's contract for go-plugin: the handshake
// (magic cookie), the Go interface, and its gRPC plugin glue. The plugin
// (../main.go) serves it; a go-plugin host (tests/interop/go_host) dispenses
// it.
package kv

import (
	"context"

	"bulkhead/examples/kv-go/kvpb"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Handshake is the KV application's go-plugin handshake: a plugin started
// without this cookie in its environment refuses to run. Bulkhead hosts pass
// it with Plugin.start({ cookie: { key, value } }).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "BULKHEAD_KV_PLUGIN",
	MagicCookieValue: "kv-3f9c2e61-interop",
}

// KV is what a key-value plugin does.
type KV interface {
	Put(key, value string) error
	Get(key string) (value string, found bool, err error)
	List(prefix string) ([]string, error)
}

// PluginMap is the set of plugins a KV plugin serves and a host dispenses.
var PluginMap = map[string]plugin.Plugin{
	"kv": &GRPCPlugin{},
}

// GRPCPlugin serves and dispenses KV over gRPC (go-plugin's GRPCPlugin).
type GRPCPlugin struct {
	plugin.Plugin
	// Impl is the implementation, on the plugin side only.
	Impl KV
}

// GRPCServer registers the KvService on the plugin's gRPC server.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	kvpb.RegisterKvServiceServer(s, &server{impl: p.Impl})
	return nil
}

// GRPCClient returns a KV that calls the plugin.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return &client{kvpb.NewKvServiceClient(c)}, nil
}

type server struct {
	impl KV
}

func (s *server) Put(_ context.Context, r *kvpb.PutRequest) (*kvpb.PutResponse, error) {
	return &kvpb.PutResponse{}, s.impl.Put(r.Key, r.Value)
}

func (s *server) Get(_ context.Context, r *kvpb.GetRequest) (*kvpb.GetResponse, error) {
	value, found, err := s.impl.Get(r.Key)
	return &kvpb.GetResponse{Value: value, Found: found}, err
}

func (s *server) List(_ context.Context, r *kvpb.ListRequest) (*kvpb.ListResponse, error) {
	keys, err := s.impl.List(r.Prefix)
	return &kvpb.ListResponse{Keys: keys}, err
}

type client struct {
	c kvpb.KvServiceClient
}

func (c *client) Put(key, value string) error {
	_, err := c.c.Put(context.Background(), &kvpb.PutRequest{Key: key, Value: value})
	return err
}

func (c *client) Get(key string) (string, bool, error) {
	r, err := c.c.Get(context.Background(), &kvpb.GetRequest{Key: key})
	if err != nil {
		return "", false, err
	}
	return r.Value, r.Found, nil
}

func (c *client) List(prefix string) ([]string, error) {
	r, err := c.c.List(context.Background(), &kvpb.ListRequest{Prefix: prefix})
	if err != nil {
		return nil, err
	}
	return r.Keys, nil
}
