// Command logtail follows the container's logs to stdout and to
// /var/log/logtail.log, with secrets redacted; `logtail --view` follows
// that file in a terminal. See the project README.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpudesk/runtime/services/logtail"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return logtail.Main(ctx, args, os.LookupEnv, stdout, stderr)
}

// exitCode reports err on stderr and turns it into the exit status: 2 for
// a usage error, 1 for anything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "logtail: %v\n", err)
	if errors.Is(err, logtail.ErrUsage) {
		fmt.Fprintln(stderr, "Try 'logtail --help'.")
		return 2
	}
	return 1
}
