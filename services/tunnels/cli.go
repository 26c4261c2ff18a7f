package tunnels

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

const usage = `usage: tunnels quick [--ports-dir DIR] [--state-dir DIR] [--cloudflared PATH]
       tunnels named [--state-dir DIR] [--metrics 127.0.0.1:PORT] [--cloudflared PATH]

quick  one Cloudflare quick tunnel per service registered in --ports-dir
       (default /run/http_ports), to the service's public port
named  the named tunnel of TUNNEL_TOKEN (run it through
       provisioner exec-with-secret TUNNEL_TOKEN=CF_TUNNEL_TOKEN)

Each tunnel's state and URL: --state-dir (default /run/tunnels)/<port>.json
and named.json.
`

// Main runs the command line; it returns the exit status (2: usage).
func Main(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "quick" && args[0] != "named") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	mode := args[0]
	fs := flag.NewFlagSet("tunnels "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	ports := fs.String("ports-dir", "/run/http_ports", "service registrations")
	state := fs.String("state-dir", "/run/tunnels", "where each tunnel's status is published")
	cf := fs.String("cloudflared", "cloudflared", "the cloudflared binary")
	metrics := fs.String("metrics", "127.0.0.1:2999", "named: cloudflared's metrics address")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tunnels %s: unexpected argument %q\n%s", mode, fs.Arg(0), usage)
		return 2
	}
	var err error
	switch mode {
	case "quick":
		https, _ := strconv.ParseBool(getenv(environ, "WEB_ENABLE_HTTPS"))
		q := &Quick{PortsDir: *ports, StateDir: *state, Cloudflared: *cf, HTTPS: https, Env: environ, Log: stdout,
			Backoff: DefaultBackoff, Discovery: DefaultDiscovery, StopWait: 10 * time.Second, Settle: 200 * time.Millisecond}
		err = q.Run(ctx)
	case "named":
		n := &Named{StateDir: *state, Cloudflared: *cf, Metrics: *metrics, Env: environ, Log: stdout,
			Backoff: DefaultBackoff, Discovery: DefaultDiscovery, StopWait: 10 * time.Second}
		err = n.Run(ctx)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tunnels %s: %v\n", mode, err)
		return 1
	}
	return 0
}

func getenv(environ []string, name string) string {
	v := ""
	for _, kv := range environ {
		if s, ok := strings.CutPrefix(kv, name+"="); ok {
			v = s
		}
	}
	return v
}
