// Command versioned_plugin is a go-plugin 1.0.1 plugin of the KV
// application with a different plugin set per protocol version
// (ServeConfig.VersionedPlugins): version 1's store answers Get with
// "v1:<value>", version 2's with "v2:<value>". go-plugin serves the set of
// the highest version in PLUGIN_PROTOCOL_VERSIONS it has.
package main

import (
	"sync"

	"bulkhead/examples/kv-go/kv"

	plugin "github.com/hashicorp/go-plugin"
)

type store struct {
	mu     sync.Mutex
	tag    string
	values map[string]string
}

func (s *store) Put(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = value
	return nil
}

func (s *store) Get(key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	value, found := s.values[key]
	return s.tag + ":" + value, found, nil
}

func (s *store) List(string) ([]string, error) { return []string{}, nil }

func set(tag string) plugin.PluginSet {
	return plugin.PluginSet{"kv": &kv.GRPCPlugin{Impl: &store{tag: tag, values: map[string]string{}}}}
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  plugin.HandshakeConfig{MagicCookieKey: kv.Handshake.MagicCookieKey, MagicCookieValue: kv.Handshake.MagicCookieValue},
		VersionedPlugins: map[int]plugin.PluginSet{1: set("v1"), 2: set("v2")},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
