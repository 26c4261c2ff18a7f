package provisioner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/account"
	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
	"github.com/gpudesk/runtime/services/provisioner/env"
	"github.com/gpudesk/runtime/services/provisioner/script"
	"github.com/gpudesk/runtime/services/provisioner/secrets"
)

// Paths of provisioner run, below the root.
const (
	MountedScript   = "opt/ai-dock/bin/provisioning.sh"
	PreparedScript  = "run/provisioner/provisioning.sh"
	ProvisioningLog = "var/log/provisioning.log"
)

// DefaultTimeout bounds a provisioning script (PROVISIONING_TIMEOUT).
const DefaultTimeout = 4 * time.Hour

// RunOptions say where provisioner run works.
type RunOptions struct {
	Root    string
	Environ []string  // supervisord's environment (no secrets)
	Out     io.Writer // a few summary lines (the program's own log)
	Fetch   script.FetchOptions
}

// RunProvisioning fetches or finds the provisioning script and runs it.
// It returns nil when the script succeeded or there was nothing to run
// (no script, or the workspace's .update_lock), and the reason otherwise.
// /run/container_config is removed in every case.
func RunProvisioning(ctx context.Context, o RunOptions) (err error) {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	path := func(p string) string { return filepath.Join(o.Root, p) }
	defer os.Remove(path(ContainerConfig))
	e := env.Parse(o.Environ)
	ws := e.Get("WORKSPACE")
	if ws == "" {
		ws = DefaultWorkspace
	}
	os.MkdirAll(path("var/log"), 0o755)
	logf, lerr := os.OpenFile(path(ProvisioningLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if lerr != nil {
		return fmt.Errorf("opening %s: %w", path(ProvisioningLog), lerr)
	}
	defer logf.Close()
	logln := func(s string) {
		line := time.Now().Format("2006-01-02 15:04:05") + " provisioner: " + s + "\n"
		io.WriteString(logf, line)
		io.WriteString(o.Out, line)
	}
	st := bootstatus.Provisioning{State: "running", Started: time.Now()}
	statusPath := path(bootstatus.File)
	setStatus := func() {
		if err := bootstatus.SetProvisioning(statusPath, st); err != nil {
			logln("warning: " + err.Error())
		}
	}
	setStatus()
	finish := func(state string, oerr error) error {
		st.State, st.DurationMS = state, float64(time.Since(st.Started).Microseconds())/1000
		if oerr != nil {
			st.Error = oerr.Error()
			logln(fmt.Sprintf("failed after %s: %v", time.Since(st.Started).Round(time.Millisecond), oerr))
		} else {
			logln(fmt.Sprintf("%s in %s", state, time.Since(st.Started).Round(time.Millisecond)))
		}
		setStatus()
		return oerr
	}

	lock := filepath.Join(path(ws), script.LockFile)
	if _, err := os.Stat(lock); err == nil {
		logln(fmt.Sprintf("skipped: %s exists (written after a successful provisioning); remove it to provision again", filepath.Join(ws, script.LockFile)))
		return finish("skipped", nil)
	}

	var body []byte
	switch u := e.Get("PROVISIONING_SCRIPT"); {
	case u != "":
		st.Source = script.Redact(u)
		logln("fetching " + st.Source)
		fo := o.Fetch
		fo.SHA256 = e.Get("PROVISIONING_SCRIPT_SHA256")
		fo.Log = logln
		body, err = script.Fetch(ctx, u, fo)
		if err != nil {
			return finish("failed", err)
		}
		logln(fmt.Sprintf("fetched %d bytes", len(body)))
	default:
		b, rerr := os.ReadFile(path(MountedScript))
		if errors.Is(rerr, os.ErrNotExist) {
			logln("no provisioning script (PROVISIONING_SCRIPT unset, nothing at /" + MountedScript + ")")
			return finish("none", nil)
		}
		if rerr != nil {
			return finish("failed", fmt.Errorf("reading /%s: %w", MountedScript, rerr))
		}
		st.Source = "/" + MountedScript
		body = b
	}
	prepared, shebang := script.Prepare(body)

	userName := e.Get("PROVISIONING_USER")
	if userName == "" {
		userName = e.Get("USER_NAME")
	}
	if userName == "" {
		userName = "user"
	}
	u, ok, lerr := account.LookupUser(o.Root, userName)
	if lerr != nil || !ok {
		if lerr == nil {
			lerr = fmt.Errorf("no such user")
		}
		return finish("failed", fmt.Errorf("PROVISIONING_USER %s: %v", userName, lerr))
	}
	var cred *syscall.Credential
	if u.UID != 0 {
		gids, _ := account.SupplementaryGIDs(o.Root, u.Name)
		groups := make([]uint32, len(gids))
		for i, g := range gids {
			groups[i] = uint32(g)
		}
		cred = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: groups}
	}
	sp := path(PreparedScript)
	if err := os.MkdirAll(filepath.Dir(sp), 0o750); err != nil {
		return finish("failed", err)
	}
	os.Chown(filepath.Dir(sp), 0, u.GID)
	if err := os.WriteFile(sp+".tmp", prepared, 0o750); err != nil {
		return finish("failed", fmt.Errorf("writing %s: %w", sp, err))
	}
	os.Chown(sp+".tmp", 0, u.GID)
	if err := os.Rename(sp+".tmp", sp); err != nil {
		return finish("failed", fmt.Errorf("writing %s: %w", sp, err))
	}

	senv := scriptEnv(e, secrets.Store{Dir: path(secrets.Dir)}, u)
	timeout := DefaultTimeout
	if v := e.Get("PROVISIONING_TIMEOUT"); v != "" {
		if d, perr := parseDuration(v); perr == nil {
			timeout = d
		} else {
			logln("warning: PROVISIONING_TIMEOUT is not a duration (seconds, or such as 90m, 2h; 0 for none); using " + DefaultTimeout.String())
		}
	}
	logln(fmt.Sprintf("running %s as %s in %s", st.Source, u.Name, ws))
	out := script.Command{Path: sp, HasShebang: shebang, Dir: path(ws), Env: senv, Cred: cred, Timeout: timeout, Out: logf}.Run(ctx)
	code := out.ExitCode
	st.ExitCode, st.LastLines = &code, out.LastLines
	if out.Err != nil {
		return finish("failed", out.Err)
	}
	if err := script.WriteLock(path(ws), u.UID, u.GID); err != nil {
		logln("warning: " + err.Error())
	}
	return finish("done", nil)
}

// scriptEnv is the boot's environment (as supervisord has it) for the
// user, with the secrets that are not the container's own credentials:
// a provisioning script exists to use HF_TOKEN and the like.
func scriptEnv(e *env.Env, store secrets.Store, u account.User) []string {
	s := e.Clone()
	for _, k := range s.Names() {
		if strings.HasPrefix(k, "SUPERVISOR_") {
			s.Unset(k)
		}
	}
	names, _ := store.Names()
	for _, n := range names {
		if env.IsInfraSecret(n) {
			continue
		}
		if v, err := store.Get(n); err == nil {
			s.Set(n, v)
		}
	}
	s.Set("HOME", u.Home)
	s.Set("USER", u.Name)
	s.Set("LOGNAME", u.Name)
	if u.Shell != "" {
		s.Set("SHELL", u.Shell)
	}
	return s.Environ()
}

func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration")
	}
	return d, nil
}

func mainRun(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	fl, rest, err := flags(args, "root")
	if err != nil || len(rest) > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", rest[0])
		}
		fmt.Fprintf(stderr, "provisioner run: %v\n%s", err, usage)
		return ExitUsage
	}
	if err := RunProvisioning(ctx, RunOptions{Root: fl["root"], Environ: environ, Out: stdout}); err != nil {
		return ExitError
	}
	return ExitOK
}
