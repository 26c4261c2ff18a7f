// Package provisioner is the container's boot (provisioner boot: what
// ai-dock's init.sh did, before exec'ing supervisord as PID 1) and the
// user's provisioning script (provisioner run, a supervised program).
// Every path is taken below a root folder, "/" in a container, so that
// tests run the whole boot in a temporary root.
package provisioner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
	"github.com/gpudesk/runtime/services/provisioner/env"
)

// Paths below the root that other programs rely on.
const (
	EnvironmentFile  = "opt/ai-dock/etc/environment.sh"
	ContainerConfig  = "run/container_config"
	WorkspaceSync    = "run/workspace_sync"
	HTTPPorts        = "run/http_ports"
	ConfigLog        = "var/log/config.log"
	DefaultConf      = "etc/supervisor/supervisord.conf"
	DefaultConfDir   = "etc/supervisor/supervisord/conf.d"
	DefaultWorkspace = "/workspace"
)

// logFiles are made at boot so that logtail and the portal find them.
var logFiles = []string{"logtail", "config", "debug", "preflight", "provisioning", "sync"}

// BootOptions say where the boot works and what it execs.
type BootOptions struct {
	Root    string   // "/" in a container
	Args    []string // KEY=VAL arguments of init.sh
	Environ []string // the container's environment
	// Supervisord is the program exec'd at the end (default
	// /usr/local/bin/supervisord, else supervisord in PATH).
	Supervisord string
	Conf        string // -c for supervisord (default Root/etc/supervisor/supervisord.conf)
	ConfDir     string // the conf.d folder it includes (default next to Conf)
	MountInfo   string // default /proc/self/mountinfo
	// Console gets what is shown once and never logged (a generated
	// password); Log gets the step lines (also appended to var/log/config.log).
	Console io.Writer
	Log     io.Writer
	// SetUmask, when set, is called with UMASK once the environment is
	// read, so the rest of the boot, the scripts it runs and supervisord
	// (which inherits it) use it. provisioner boot passes syscall.Umask;
	// tests that run Boot in-process leave it nil (the mask is the
	// process's).
	SetUmask func(mask int)
}

// Plan is the exec the boot ends with.
type Plan struct {
	Path    string
	Argv    []string
	Environ []string
	// Umask is set just before the exec (UMASK, default 002): supervisord
	// in the foreground keeps the umask it starts with, and so do its
	// programs (Python's applies its umask= only when it daemonizes).
	Umask int
}

// ErrFatal marks the errors that stop the boot.
var ErrFatal = errors.New("boot stopped")

type boot struct {
	o      BootOptions
	e      *env.Env
	secret *env.Env
	status bootstatus.Status
	log    io.Writer
	logf   *os.File
	start  time.Time
	// filled by the steps
	ws          wsFacts
	keys        int
	groupsGiven bool
	umask       int
}

type wsFacts struct {
	path, homeTarget string
	mounted, perms   bool
	uid, gid         int
}

func (b *boot) path(p string) string { return filepath.Join(b.o.Root, p) }

// Boot runs every step and returns the exec of supervisord. Problems with
// one variable are warnings and the boot goes on; an unusable workspace
// or no supervisord to run returns an error wrapping ErrFatal.
func Boot(ctx context.Context, o BootOptions) (*Plan, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Console == nil {
		o.Console = io.Discard
	}
	b := &boot{o: o, start: time.Now()}
	b.status = bootstatus.Status{Version: 1, Phase: bootstatus.PhaseBoot, Started: b.start, Steps: []bootstatus.Step{}, Errors: []string{}}
	os.MkdirAll(b.path("var/log"), 0o755)
	if f, err := os.OpenFile(b.path(ConfigLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640); err == nil {
		b.logf = f
		defer f.Close()
		b.log = io.MultiWriter(o.Log, f)
	} else {
		b.log = o.Log
		fmt.Fprintf(o.Log, "boot: warning: cannot write %s: %v\n", b.path(ConfigLog), err)
	}
	b.logln("boot: starting (provisioner boot)")
	b.writeStatus()

	steps := []struct {
		name  string
		fatal bool
		run   func(context.Context) ([]string, error)
	}{
		{"environment", false, b.stepEnvironment},
		{"directories", false, b.stepDirectories},
		{"workspace", true, b.stepWorkspace},
		{"user", false, b.stepUser},
		{"acl", false, b.stepACL},
		{"ssh", false, b.stepSSH},
		{"web credentials", false, b.stepWeb},
		{"portal apps", false, b.stepPortalApps},
		{"gpus", false, b.stepGPUs},
		{"preflight", false, b.stepPreflight},
		{"secrets", false, b.stepSecrets},
		{"autostart", false, b.stepAutostart},
		{"environment file", false, b.stepEnvironmentFile},
		{"timezone", false, b.stepTimezone},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, b.fail(fmt.Errorf("%w: interrupted before %s: %v", ErrFatal, s.name, context.Cause(ctx)))
		}
		t0 := time.Now()
		warn, err := s.run(ctx)
		st := bootstatus.Step{Name: s.name, DurationMS: ms(time.Since(t0)), Warnings: warn}
		for _, w := range warn {
			b.logln("boot: warning: " + s.name + ": " + w)
		}
		if err != nil {
			st.Error = err.Error()
			b.status.Errors = append(b.status.Errors, s.name+": "+err.Error())
			b.logln("boot: error: " + s.name + ": " + err.Error())
		}
		b.status.Steps = append(b.status.Steps, st)
		if s.name == "environment" && o.SetUmask != nil {
			o.SetUmask(b.umask)
		}
		b.logln(fmt.Sprintf("boot: %s done in %.1f ms", s.name, st.DurationMS))
		if err != nil && s.fatal {
			return nil, b.fail(fmt.Errorf("%w: %s: %v", ErrFatal, s.name, err))
		}
		b.writeStatus()
	}

	plan, err := b.plan()
	if err != nil {
		return nil, b.fail(err)
	}
	// /run/workspace_sync stays while there are folders to move:
	// provisioner sync (conf.d/provisioner.conf) removes it when done.
	if items, note := syncPlan(b.e); len(items) == 0 {
		os.Remove(b.path(WorkspaceSync))
		if note != "" {
			b.logln("boot: " + note)
		}
	} else {
		b.logln("boot: provisioner sync moves /opt/{" + strings.Join(items, ",") + "} to the workspace; /" + WorkspaceSync + " stays until it is done")
	}
	b.status.Phase = bootstatus.PhaseSupervisord
	b.status.DurationMS = ms(time.Since(b.start))
	b.writeStatus()
	b.logln(fmt.Sprintf("boot: done in %.1f ms; exec %s", b.status.DurationMS, strings.Join(plan.Argv, " ")))
	return plan, nil
}

func (b *boot) fail(err error) error {
	b.status.Phase = bootstatus.PhaseFailed
	b.status.DurationMS = ms(time.Since(b.start))
	b.status.Errors = append(b.status.Errors, err.Error())
	b.writeStatus()
	b.logln("boot: " + err.Error())
	return err
}

func (b *boot) logln(s string) {
	fmt.Fprintf(b.log, "%s %s\n", time.Now().Format("2006-01-02 15:04:05"), s)
}

func (b *boot) writeStatus() {
	if err := bootstatus.Write(b.path(bootstatus.File), b.status); err != nil {
		fmt.Fprintf(b.log, "boot: warning: %v\n", err)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var validUser = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// plan finds supervisord and builds its exec.
func (b *boot) plan() (*Plan, error) {
	path := b.o.Supervisord
	if path == "" {
		path = "/usr/local/bin/supervisord"
		if _, err := os.Stat(path); err != nil {
			if p, err := lookPath("supervisord"); err == nil {
				path = p
			}
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		if err == nil {
			err = errors.New("not an executable file")
		}
		return nil, fmt.Errorf("%w: cannot start supervisord %s: %v", ErrFatal, path, err)
	}
	conf := b.o.Conf
	if conf == "" {
		conf = b.path(DefaultConf)
	}
	return &Plan{Path: path, Argv: []string{path, "-n", "-c", conf}, Environ: b.e.Environ(), Umask: b.umask}, nil
}
