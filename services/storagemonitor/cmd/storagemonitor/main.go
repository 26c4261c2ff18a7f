// Command storagemonitor links the files of the workspace storage into
// application folders as symlinks, per a mappings file, and keeps them up
// to date. See the project README for its flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpudesk/runtime/services/storagemonitor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := storagemonitor.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
