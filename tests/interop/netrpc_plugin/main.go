// Command netrpc_plugin is a go-plugin 1.0.1 plugin of the KV application
// that speaks go-plugin's older net/rpc protocol (no GRPCServer in its
// ServeConfig): it announces `netrpc` in its handshake, which a Bulkhead host
// must refuse with a clear HandshakeError.
package main

import (
	"net/rpc"

	"bulkhead/examples/kv-go/kv"

	plugin "github.com/hashicorp/go-plugin"
)

type pinger struct{}

// Ping answers "pong" over net/rpc.
func (pinger) Ping(_ struct{}, reply *string) error {
	*reply = "pong"
	return nil
}

type rpcPlugin struct{}

func (rpcPlugin) Server(*plugin.MuxBroker) (interface{}, error) { return pinger{}, nil }

func (rpcPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (interface{}, error) { return c, nil }

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: kv.Handshake,
		Plugins:         map[string]plugin.Plugin{"kv": rpcPlugin{}},
	})
}
