package rclonemount

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Mounts mounts every remote rclone knows.
type Mounts struct {
	Rclone     string // rclone
	Fusermount string // fusermount3
	Workspace  string // $WORKSPACE: remotes go to <Workspace>/remote/<name>
	Host       Host
	Env        []string
	Log        io.Writer
	UID, GID   int // owner of the files as the mount shows them
	CacheMode  string
	MinBackoff time.Duration
	MaxBackoff time.Duration
	StopWait   time.Duration
}

// Run mounts and keeps the mounts until ctx ends, then unmounts them. It
// returns nil at once, after one line per missing precondition, when the
// container cannot mount (rclone stays usable from the shell).
func (m *Mounts) Run(ctx context.Context) error {
	log := &lineLog{w: m.Log}
	if missing := m.Host.Missing(); len(missing) > 0 {
		for _, s := range missing {
			log.printf("rclone mounts are off: %s; rclone still works from the shell (rclone copy, rclone sync)", s)
		}
		return nil
	}
	if hint := m.Host.AppArmorHint(); hint != "" {
		log.printf("%s", hint)
	}
	remotes, err := m.remotes(ctx)
	if err != nil {
		return err
	}
	typed := map[string]bool{}
	for name := range remotes {
		typed[name] = true
	}
	for _, p := range EnvProblems(m.Env, typed) {
		log.printf("%s", p)
	}
	backends, err := m.backends(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(remotes))
	for name := range remotes {
		names = append(names, name)
	}
	sort.Strings(names)
	var wg sync.WaitGroup
	started := 0
	for _, name := range names {
		if typ := remotes[name]; !backends[typ] {
			log.printf("remote %s: type = %q is not an rclone backend (RCLONE_CONFIG_%s_TYPE or type in %s; `rclone help backends` lists them); it is not mounted",
				name, typ, strings.ToUpper(name), m.configFile())
			continue
		}
		if !validName(name) {
			log.printf("remote %q: the name cannot be a folder name; it is not mounted", name)
			continue
		}
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.keep(ctx, log, name)
		}()
	}
	if started == 0 {
		log.printf("no rclone remote to mount (define one with RCLONE_CONFIG_<NAME>_TYPE and its keys, or in %s)", m.configFile())
	}
	wg.Wait()
	return nil
}

func (m *Mounts) configFile() string {
	for _, kv := range m.Env {
		if v, ok := strings.CutPrefix(kv, "RCLONE_CONFIG="); ok && v != "" {
			return v
		}
	}
	return "rclone.conf"
}

func validName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\x00") && !strings.HasPrefix(n, ".")
}

// remotes runs `rclone listremotes --long`: name → type.
func (m *Mounts) remotes(ctx context.Context) (map[string]string, error) {
	out, err := m.output(ctx, "listremotes", "--long")
	if err != nil {
		return nil, fmt.Errorf("listing the rclone remotes: %w", err)
	}
	r := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		name, typ, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		r[strings.TrimSpace(name)] = strings.TrimSpace(typ)
	}
	return r, nil
}

// backends runs `rclone help backends`.
func (m *Mounts) backends(ctx context.Context) (map[string]bool, error) {
	out, err := m.output(ctx, "help", "backends")
	if err != nil {
		return nil, fmt.Errorf("listing rclone's backends: %w", err)
	}
	b := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  ") {
			if f := strings.Fields(line); len(f) > 0 {
				b[f[0]] = true
			}
		}
	}
	return b, nil
}

func (m *Mounts) output(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, m.Rclone, args...)
	cmd.Env = m.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", m.Rclone, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// keep mounts one remote until ctx ends, mounting it again (after a
// growing pause) whenever rclone exits.
func (m *Mounts) keep(ctx context.Context, log *lineLog, name string) {
	dir := filepath.Join(m.Workspace, "remote", name)
	var pause time.Duration
	for {
		began := time.Now()
		err := m.once(ctx, log, name, dir)
		m.unmount(log, name, dir)
		if ctx.Err() != nil {
			log.printf("remote %s: unmounted %s", name, dir)
			return
		}
		if pause == 0 || time.Since(began) > 2*time.Minute {
			pause = m.MinBackoff
		} else if pause *= 2; pause > m.MaxBackoff {
			pause = m.MaxBackoff
		}
		log.printf("remote %s: %v; mounting it again in %v", name, err, pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

func (m *Mounts) once(ctx context.Context, log *lineLog, name, dir string) error {
	cache := filepath.Join(m.Workspace, "remote", ".cache", name)
	for _, d := range []string{dir, cache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("making %s: %w", d, err)
		}
	}
	args := []string{"mount", name + ":", dir,
		"--vfs-cache-mode", m.CacheMode, "--cache-dir", cache,
		"--uid", strconv.Itoa(m.UID), "--gid", strconv.Itoa(m.GID), "--umask", "002",
		"--allow-other", "--devname", "rclone:" + name}
	cmd := exec.Command(m.Rclone, args...)
	cmd.Env = m.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("starting %s: %w", m.Rclone, err)
	}
	pw.Close()
	var last lastLine
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			last.set(line)
			log.printf("remote %s: %s", name, line)
		}
		pr.Close()
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	log.printf("remote %s: rclone mount %s: %s (pid %d, --vfs-cache-mode %s)", name, name, dir, cmd.Process.Pid, m.CacheMode)
	select {
	case err := <-exited:
		<-copied
		return fmt.Errorf("rclone mount exited (%v)%s", exitText(err), last.suffix())
	case <-ctx.Done():
		// rclone unmounts on SIGTERM; the unmount after this catches a
		// mount it left.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(m.StopWait):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		<-copied
		return ctx.Err()
	}
}

// unmount removes a mount left at dir (rclone killed, or a previous
// container's): fusermount3 -u -z, then umount -l.
func (m *Mounts) unmount(log *lineLog, name, dir string) {
	if !Mounted(m.Host.Proc, dir) {
		return
	}
	out, err := exec.Command(m.Fusermount, "-u", "-z", dir).CombinedOutput()
	if err == nil && !Mounted(m.Host.Proc, dir) {
		return
	}
	if err2 := syscall.Unmount(dir, syscall.MNT_DETACH); err2 != nil {
		log.printf("remote %s: unmounting %s: %s %v; umount -l: %v", name, dir, strings.TrimSpace(string(out)), err, err2)
	}
}

// Mounted reports whether dir is a mount point in <proc>/self/mountinfo.
func Mounted(proc, dir string) bool {
	b, err := os.ReadFile(proc + "/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescape(f[4]) == dir {
			return true
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func exitText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ProcessState.String()
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

type lastLine struct {
	mu sync.Mutex
	s  string
}

func (l *lastLine) set(s string) {
	// rclone's NOTICE and INFO lines say nothing about why it stopped.
	if strings.TrimSpace(s) == "" || strings.Contains(s, " NOTICE: ") || strings.Contains(s, " INFO  : ") {
		return
	}
	l.mu.Lock()
	l.s = s
	l.mu.Unlock()
}

func (l *lastLine) suffix() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == "" {
		return ""
	}
	return ": " + l.s
}

type lineLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineLog) printf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", a...)
}
