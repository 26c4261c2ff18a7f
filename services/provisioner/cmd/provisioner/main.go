// Command provisioner is the container's boot (provisioner boot, which
// init.sh execs and which ends by exec'ing supervisord) and the user's
// provisioning script (provisioner run). See the project README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpudesk/runtime/services/provisioner"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := provisioner.Main(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
