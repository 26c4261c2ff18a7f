// Command portal is the container's web portal on 127.0.0.1:11111 (Caddy
// serves it on port 1111) and the login of every web service; `portal
// set-web-credentials USER [PASSWORD|-]` changes that login while the
// container runs. See the project README.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/gpudesk/runtime/services/portal"
)

// gcPercent is the collector's target unless GOGC says otherwise: the
// portal's heap is small and mostly short-lived buffers of the log
// streams, so collecting at +50% instead of +100% keeps a hundred log
// viewers near 19 MB instead of 21 MB for about a tenth more CPU
// (scripts/bench-portal).
const gcPercent = 50

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return portal.Main(ctx, args, os.LookupEnv, stdin, stdout, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "portal: %v\n", err)
	if errors.Is(err, portal.ErrUsage) {
		return 2
	}
	return 1
}
