// Command rclone-mounts mounts every configured rclone remote at
// $WORKSPACE/remote/<name> and unmounts them on stop. See "rclone" in
// the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpudesk/runtime/services/rclonemount"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(rclonemount.Main(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
