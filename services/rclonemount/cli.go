package rclonemount

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
)

// Main runs rclone-mounts; it returns the exit status (2: usage).
func Main(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rclone-mounts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ws := fs.String("workspace", "", "the workspace (default $WORKSPACE, else /workspace)")
	fuse := fs.String("fuse-device", "/dev/fuse", "the FUSE device")
	mode := fs.String("vfs-cache-mode", "writes", "rclone's --vfs-cache-mode: off, minimal, writes or full")
	rclone := fs.String("rclone", "rclone", "the rclone binary")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rclone-mounts: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch *mode {
	case "off", "minimal", "writes", "full":
	default:
		fmt.Fprintf(stderr, "rclone-mounts: --vfs-cache-mode %q: use off, minimal, writes or full\n", *mode)
		return 2
	}
	if *ws == "" {
		*ws = "/workspace"
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, "WORKSPACE="); ok && v != "" {
				*ws = strings.TrimRight(v, "/")
			}
		}
	}
	uid, gid := 0, 0
	if fi, err := os.Stat(*ws); err != nil {
		fmt.Fprintf(stderr, "rclone-mounts: workspace %s: %v\n", *ws, err)
		return 1
	} else if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		// The files show as the workspace owner's, the desktop user's.
		uid, gid = int(st.Uid), int(st.Gid)
	}
	m := &Mounts{Rclone: *rclone, Fusermount: "fusermount3", Workspace: *ws, Host: Host{FuseDevice: *fuse, Proc: "/proc"},
		Env: environ, Log: stdout, UID: uid, GID: gid, CacheMode: *mode,
		MinBackoff: 2 * time.Second, MaxBackoff: 5 * time.Minute, StopWait: 15 * time.Second}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "rclone-mounts: %v\n", err)
		return 1
	}
	return 0
}
