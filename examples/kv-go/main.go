// Command kv-go is a key-value plugin written with HashiCorp go-plugin,
// unmodified: any go-plugin host of the KV application, or a Bulkhead host,
// can start it. It keeps its keys in memory and logs every call through
// hclog as JSON lines on stderr, which hosts read with their levels.
//
// Run by hand, it explains that it is a plugin and exits with code 1.
package main

import (
	"os"
	"sort"
	"strings"
	"sync"

	"bulkhead/examples/kv-go/kv"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
)

type store struct {
	mu     sync.Mutex
	values map[string]string
	log    hclog.Logger
}

func (s *store) Put(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = value
	s.log.Info("put", "key", key, "bytes", len(value))
	return nil
}

func (s *store) Get(key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	value, found := s.values[key]
	if !found {
		s.log.Warn("get of a missing key", "key", key)
	} else {
		s.log.Debug("get", "key", key)
	}
	return value, found, nil
}

func (s *store) List(prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := []string{}
	for key := range s.values {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	s.log.Debug("list", "prefix", prefix, "count", len(keys))
	return keys, nil
}

// grpcServer is go-plugin's default server plus server reflection (v1alpha),
// so that tools such as `bulkhead inspect` and `bulkhead call` can see the
// plugin's services. (go-plugin 1.0.1 does not register reflection itself.)
func grpcServer(opts []grpc.ServerOption) *grpc.Server {
	s := plugin.DefaultGRPCServer(opts)
	reflection.Register(s)
	return s
}

// serverFor picks the gRPC server: with --no-reflection, go-plugin's default
// one as go-plugin 1.0.1 serves it, so that `bulkhead call` needs --proto or
// --protoset for it.
func serverFor(args []string) func([]grpc.ServerOption) *grpc.Server {
	for _, arg := range args {
		if arg == "--no-reflection" {
			return plugin.DefaultGRPCServer
		}
	}
	return grpcServer
}

func main() {
	// Made before plugin.Serve replaces os.Stderr, so it keeps writing to the
	// real stderr, where the host reads it line by line.
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "kv-go",
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})
	logger.Info("starting", "pid", os.Getpid())
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: kv.Handshake,
		Plugins: map[string]plugin.Plugin{
			"kv": &kv.GRPCPlugin{Impl: &store{values: map[string]string{}, log: logger}},
		},
		GRPCServer: serverFor(os.Args[1:]),
		Logger:     logger,
	})
}
