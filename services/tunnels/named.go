package tunnels

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Named runs the named tunnel of CF_TUNNEL_TOKEN: cloudflared tunnel run
// with the token in its environment (TUNNEL_TOKEN, as provisioner
// exec-with-secret gives it to this program), never on a command line.
// Its hostnames, read from cloudflared's /config, go to named.json.
type Named struct {
	StateDir    string
	Cloudflared string
	Metrics     string // 127.0.0.1:2999
	Env         []string
	Log         io.Writer
	Backoff     Backoff
	Discovery   Discovery
	StopWait    time.Duration
}

// ErrNoToken: the program was started without a token.
var ErrNoToken = fmt.Errorf("no tunnel token: set CF_TUNNEL_TOKEN (this program gets it as TUNNEL_TOKEN from provisioner exec-with-secret TUNNEL_TOKEN=CF_TUNNEL_TOKEN)")

// Run keeps the named tunnel up until ctx ends.
func (n *Named) Run(ctx context.Context) error {
	log := &lineLog{w: n.Log}
	if err := os.MkdirAll(n.StateDir, 0o755); err != nil {
		return fmt.Errorf("making %s: %w", n.StateDir, err)
	}
	pub := publisher{n.StateDir}
	token := ""
	for _, kv := range n.Env {
		if v, ok := strings.CutPrefix(kv, "TUNNEL_TOKEN="); ok {
			token = strings.TrimSpace(v)
		}
	}
	if token == "" {
		pub.write("named", Status{Kind: "named", State: StateBackoff, Error: ErrNoToken.Error()})
		return ErrNoToken
	}
	port := 0
	if n.Metrics != "" {
		p, err := portOf(n.Metrics)
		if err != nil {
			return fmt.Errorf("--metrics %q: %w", n.Metrics, err)
		}
		port = p
	}
	sup := &supervisor{cloudflared: n.Cloudflared, pub: pub, log: log, backoff: n.Backoff, stopWait: n.StopWait}
	sup.run(ctx, child{
		name:        "named",
		label:       "named tunnel",
		metricsPort: port,
		args: func(metrics string) []string {
			return []string{"tunnel", "--no-autoupdate", "--metrics", metrics, "run"}
		},
		env:      withProtocol(append([]string(nil), n.Env...)),
		status:   Status{Kind: "named"},
		discover: n.Discovery.namedHostnames,
	})
	return nil
}

func portOf(addr string) (int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0, fmt.Errorf("want 127.0.0.1:PORT")
	}
	if h := addr[:i]; h != "127.0.0.1" && h != "localhost" {
		return 0, fmt.Errorf("the metrics server listens on 127.0.0.1 only (it answers anyone who reaches it)")
	}
	return parsePort(addr[i+1:])
}
