package provisioner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/env"
	"github.com/gpudesk/runtime/services/provisioner/script"
)

// Preflight scripts: what the image or the user drops in runs before
// supervisord starts (ai-dock sourced them in init.sh after supervisord
// had started, so services raced them).
const (
	PreflightDir = "opt/ai-dock/bin/preflight.d"
	PreflightLog = "var/log/preflight.log"
	// PreflightEnv is the file a script writes NAME=VALUE lines to, to
	// set variables for the later scripts, supervisord and its programs
	// (the scripts run as children, so their exports cannot come back;
	// ai-dock's were sourced and used env-store).
	PreflightEnv = "run/boot/preflight.env"
	// preparedDir holds each script after CRLF/BOM clean-up.
	preparedDir = "run/boot/preflight"
)

// DefaultPreflightTimeout bounds each script (PREFLIGHT_TIMEOUT).
const DefaultPreflightTimeout = 5 * time.Minute

// maxPreflightEnv bounds the file of variables a script writes.
const maxPreflightEnv = 1 << 20

// stepPreflight runs every *.sh of the preflight folder in name order, as
// root in /, each within PREFLIGHT_TIMEOUT, its output timestamped in
// /var/log/preflight.log. A failing script is a warning: the boot goes on.
// The scripts get the environment without secrets.
func (b *boot) stepPreflight(ctx context.Context) ([]string, error) {
	files, err := filepath.Glob(b.path(PreflightDir + "/*.sh"))
	if err != nil || len(files) == 0 {
		return nil, nil
	}
	sort.Strings(files)
	var warn []string
	timeout := DefaultPreflightTimeout
	if v := b.e.Get("PREFLIGHT_TIMEOUT"); v != "" {
		if d, perr := parseDuration(v); perr == nil {
			timeout = d
		} else {
			warn = append(warn, "PREFLIGHT_TIMEOUT is not a duration (seconds, or such as 90s, 10m; 0 for none); using "+DefaultPreflightTimeout.String())
		}
	}
	logf, err := os.OpenFile(b.path(PreflightLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return warn, fmt.Errorf("opening %s: %w", b.path(PreflightLog), err)
	}
	defer logf.Close()
	if err := os.MkdirAll(b.path(preparedDir), 0o700); err != nil {
		return warn, fmt.Errorf("making %s: %w", b.path(preparedDir), err)
	}
	envFile := b.path(PreflightEnv)
	for _, f := range files {
		name := filepath.Base(f)
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			warn = append(warn, fmt.Sprintf("preflight %s: not a regular file; skipped", name))
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			warn = append(warn, fmt.Sprintf("preflight %s: %v; skipped", name, err))
			continue
		}
		prepared, shebang := script.Prepare(body)
		sp := filepath.Join(b.path(preparedDir), name)
		if err := os.WriteFile(sp, prepared, 0o700); err != nil {
			warn = append(warn, fmt.Sprintf("preflight %s: writing %s: %v; skipped", name, sp, err))
			continue
		}
		os.Chmod(sp, 0o700)
		os.Remove(envFile)
		public, _ := b.e.Split()
		public.Set("PREFLIGHT_ENV", envFile) // /run/boot/preflight.env in a container
		fmt.Fprintf(logf, "%s preflight: running /%s/%s\n", time.Now().Format("2006-01-02 15:04:05"), PreflightDir, name)
		out := script.Command{Path: sp, HasShebang: shebang, Dir: b.o.Root, Env: public.Environ(),
			Timeout: timeout, TimeoutName: "PREFLIGHT_TIMEOUT", Out: logf}.Run(ctx)
		result := fmt.Sprintf("done in %s", out.Duration.Round(time.Millisecond))
		if out.Err != nil {
			result = fmt.Sprintf("failed after %s: %v", out.Duration.Round(time.Millisecond), out.Err)
			warn = append(warn, fmt.Sprintf("preflight %s %s (its output: /%s)", name, result, PreflightLog))
		} else {
			b.logln("boot: preflight " + name + " " + result)
		}
		fmt.Fprintf(logf, "%s preflight: %s %s\n", time.Now().Format("2006-01-02 15:04:05"), name, result)
		warn = append(warn, b.readPreflightEnv(name, envFile)...)
	}
	os.Remove(envFile)
	return warn, nil
}

// readPreflightEnv applies the NAME=VALUE lines a script wrote (blank
// lines and # comments skipped); a bad line is a warning naming the
// script and the line number, never the value.
func (b *boot) readPreflightEnv(script, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxPreflightEnv {
		return []string{fmt.Sprintf("preflight %s: $PREFLIGHT_ENV is not a regular file of at most %d bytes; ignored", script, maxPreflightEnv)}
	}
	var warn []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxPreflightEnv)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimPrefix(strings.TrimSpace(k), "export ")
		if !ok || !env.ValidName(k) || bytes.IndexByte([]byte(v), 0) >= 0 {
			warn = append(warn, fmt.Sprintf("preflight %s: $PREFLIGHT_ENV line %d is not NAME=VALUE; ignored", script, n))
			continue
		}
		b.e.Set(k, v)
	}
	return warn
}
