// Command tunnels runs the container's Cloudflare tunnels under
// supervisord: `tunnels quick` one quick tunnel per registered web
// service, `tunnels named` the named tunnel of CF_TUNNEL_TOKEN. See
// "Tunnels" in the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpudesk/runtime/services/tunnels"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(tunnels.Main(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
