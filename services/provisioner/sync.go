package provisioner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
	"github.com/gpudesk/runtime/services/provisioner/env"
	"github.com/gpudesk/runtime/services/provisioner/optsync"
)

// syncPlan says which /opt folders go to the workspace: the OPT_SYNC
// names, when the workspace is a mounted volume (a copy onto the
// container's own disk would keep nothing) and WORKSPACE_SYNC is not
// false. note explains an OPT_SYNC that is not acted on.
func syncPlan(e *env.Env) (items []string, note string) {
	items = optsync.Items(e.Get("OPT_SYNC"))
	if len(items) == 0 {
		return nil, ""
	}
	if on, ok := e.Bool("WORKSPACE_SYNC", true); ok && !on {
		return nil, "WORKSPACE_SYNC=false: OPT_SYNC folders stay in /opt"
	}
	if mounted, _ := e.Bool("WORKSPACE_MOUNTED", false); !mounted {
		return nil, "the workspace is not a mounted volume: OPT_SYNC folders stay in /opt"
	}
	return items, ""
}

// SyncOptions say where provisioner sync works.
type SyncOptions struct {
	Root    string
	Environ []string // supervisord's environment (the boot's)
	Out     io.Writer
}

// RunSync moves the OPT_SYNC folders onto the workspace and removes
// /run/workspace_sync, whatever happened: programs waiting on it start.
// It returns the number of folders that could not be synced.
func RunSync(ctx context.Context, o SyncOptions) int {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	defer os.Remove(filepath.Join(o.Root, WorkspaceSync))
	logln := func(s string) {
		fmt.Fprintf(o.Out, "%s sync: %s\n", time.Now().Format("2006-01-02 15:04:05"), s)
	}
	e := env.Parse(o.Environ)
	if e.Get("WORKSPACE_SYNC") != "" {
		if _, ok := e.Bool("WORKSPACE_SYNC", true); !ok {
			logln("warning: WORKSPACE_SYNC is not true or false; taken as true")
		}
	}
	items, note := syncPlan(e)
	if note != "" {
		logln(note)
	}
	st := bootstatus.Sync{State: "running", Items: items, Started: time.Now()}
	setStatus := func() {
		if err := bootstatus.SetSync(filepath.Join(o.Root, bootstatus.File), st); err != nil {
			logln("warning: " + err.Error())
		}
	}
	if len(items) == 0 {
		logln("nothing to move to the workspace")
		st.State = "none"
		setStatus()
		return 0
	}
	setStatus()
	ws := e.Get("WORKSPACE")
	if ws == "" {
		ws = DefaultWorkspace
	}
	chown, _ := e.Bool("WORKSPACE_PERMISSIONS", true)
	logln(fmt.Sprintf("moving /opt/{%s} to %s", strings.Join(items, ","), ws))
	warn := optsync.Sync(ctx, optsync.Options{Root: o.Root, Workspace: ws, Items: items, Chown: chown, Log: logln})
	for _, w := range warn {
		logln("warning: " + w)
	}
	st.State, st.Errors, st.DurationMS = "done", warn, float64(time.Since(st.Started).Microseconds())/1000
	if len(warn) > 0 {
		st.State = "failed"
	}
	setStatus()
	logln(fmt.Sprintf("done: %d of %d folders in the workspace", len(items)-len(warn), len(items)))
	return len(warn)
}

func mainSync(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	fl, rest, err := flags(args, "root")
	if err != nil || len(rest) > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", rest[0])
		}
		fmt.Fprintf(stderr, "provisioner sync: %v\n%s", err, usage)
		return ExitUsage
	}
	if RunSync(ctx, SyncOptions{Root: fl["root"], Environ: environ, Out: stdout}) > 0 {
		return ExitError
	}
	return ExitOK
}
