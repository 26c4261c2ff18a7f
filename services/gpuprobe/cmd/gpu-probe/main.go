// Command gpu-probe finds the GPUs of the machine (or of a snapshot under
// --root), applies GPU_COUNT and reports them as a table, JSON or shell
// export lines. See the project README ("gpu-probe").
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpudesk/runtime/services/gpuprobe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := gpuprobe.Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
