// Command go_host is a go-plugin 1.0.1 host of the KV application: it starts
// the plugin command given as its arguments with plugin.NewClient (gRPC
// only), dispenses "kv", puts, gets and lists through go-plugin's gRPC
// client, then Kill()s the plugin (GRPCController.Shutdown, then a kill
// after 2 s if it has not exited). It prints one result per line on stdout
// for tests/interop/go_host_test.ts; go-plugin's own logs go to stderr.
//
// Usage: go_host [-socket PATH] [-automtls] [-versions N,M] <plugin command> [args...]
//
// -versions 1,2 offers those protocol versions, each with the KV plugin set
// (ClientConfig.VersionedPlugins), and prints "version N", the negotiated one.
//
// -reattach grpc,unix,ADDR,PID adopts a running plugin with go-plugin's
// ClientConfig.Reattach instead (no command), prints "get greeting = …" and
// leaves without Kill() or Close() (both shut the plugin down), so the
// plugin keeps running.
//
// -socket passes BULKHEAD_PLUGIN_SOCKET=PATH in the plugin's environment
// (go-plugin keeps what the host puts in Cmd.Env), so a Bulkhead Deno plugin
// listens exactly there and can be granted that one path.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"bulkhead/examples/kv-go/kv"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
)

func main() {
	socket := flag.String("socket", "", "the socket path to pass as BULKHEAD_PLUGIN_SOCKET")
	autoMTLS := flag.Bool("automtls", false, "use go-plugin's AutoMTLS")
	versions := flag.String("versions", "", "protocol versions to offer (VersionedPlugins), e.g. 1,2")
	reattach := flag.String("reattach", "", "adopt a running plugin: PROTOCOL,NETWORK,ADDRESS,PID")
	flag.Parse()
	if *reattach != "" {
		if err := adopt(*reattach); err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: go_host [-socket PATH] [-automtls] <plugin command> [args...]")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	if *socket != "" {
		cmd.Env = []string{"BULKHEAD_PLUGIN_SOCKET=" + *socket}
	}
	if err := run(cmd, *autoMTLS, *versions); err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(1)
	}
}

func run(cmd *exec.Cmd, autoMTLS bool, versions string) error {
	config := &plugin.ClientConfig{
		AutoMTLS:         autoMTLS,
		HandshakeConfig:  kv.Handshake,
		Plugins:          kv.PluginMap,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     30 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:   "go-host",
			Output: os.Stderr,
			Level:  hclog.Debug,
		}),
	}
	if versions != "" {
		config.Plugins = nil
		config.VersionedPlugins = map[int]plugin.PluginSet{}
		for _, v := range strings.Split(versions, ",") {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("version %q: %w", v, err)
			}
			config.VersionedPlugins[n] = kv.PluginMap
		}
	}
	client := plugin.NewClient(config)
	defer client.Kill()

	rpc, err := client.Client()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Printf("protocol %s\n", client.Protocol())
	if versions != "" {
		fmt.Printf("version %d\n", client.NegotiatedVersion())
	}
	if autoMTLS {
		// go-plugin dials gRPC with this TLS config; its only root is the
		// certificate the plugin announced in its handshake
		fmt.Printf("tls %t\n", config.TLSConfig != nil && config.TLSConfig.RootCAs != nil)
	}
	fmt.Printf("pid %d\n", client.ReattachConfig().Pid)
	if err := rpc.Ping(); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	fmt.Println("ping ok")
	raw, err := rpc.Dispense("kv")
	if err != nil {
		return fmt.Errorf("dispense: %w", err)
	}
	store := raw.(kv.KV)
	for _, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}} {
		if err := store.Put(kv[0], kv[1]); err != nil {
			return fmt.Errorf("put %s: %w", kv[0], err)
		}
	}
	fmt.Println("put ok")
	for _, key := range []string{"b", "missing"} {
		value, found, err := store.Get(key)
		if err != nil {
			return fmt.Errorf("get %s: %w", key, err)
		}
		fmt.Printf("get %s = %q found=%t\n", key, value, found)
	}
	keys, err := store.List("")
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	fmt.Printf("list %s\n", strings.Join(keys, ","))

	start := time.Now()
	client.Kill()
	fmt.Printf("killed exited=%t graceful=%t\n", client.Exited(), time.Since(start) < 2*time.Second)
	return nil
}

// adopt reattaches to a running KV plugin (go-plugin's ReattachConfig) and
// reads the key "greeting"; it does not Kill() the plugin.
func adopt(spec string) error {
	parts := strings.Split(spec, ",")
	if len(parts) != 4 {
		return fmt.Errorf("-reattach wants PROTOCOL,NETWORK,ADDRESS,PID, not %q", spec)
	}
	pid, err := strconv.Atoi(parts[3])
	if err != nil {
		return fmt.Errorf("pid %q: %w", parts[3], err)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  kv.Handshake,
		Plugins:          kv.PluginMap,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Reattach: &plugin.ReattachConfig{
			Protocol: plugin.Protocol(parts[0]),
			Addr:     &net.UnixAddr{Net: parts[1], Name: parts[2]},
			Pid:      pid,
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "go-host", Output: os.Stderr, Level: hclog.Debug}),
	})
	rpc, err := client.Client()
	if err != nil {
		return fmt.Errorf("reattach: %w", err)
	}
	raw, err := rpc.Dispense("kv")
	if err != nil {
		return fmt.Errorf("dispense: %w", err)
	}
	value, found, err := raw.(kv.KV).Get("greeting")
	if err != nil {
		return fmt.Errorf("get greeting: %w", err)
	}
	fmt.Printf("get greeting = %q found=%t\n", value, found)
	// not rpc.Close(): go-plugin's GRPCClient.Close asks the plugin to shut down
	return nil
}
