package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/daemontest"
	"github.com/gpudesk/runtime/supervisor/internal/testbin"
)

// supervisord is the binary under test, built by TestMain.
var supervisord string

// childEnv makes the test binary act as a supervised child (see child).
const childEnv = "GPUDESK_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		child(strings.Fields(mode), os.Args[1:])
		os.Exit(0)
	}
	bin, dir, err := testbin.Supervisord(raceEnabled)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	supervisord = bin
	childBin = filepath.Join(dir, "child")
	if err := copyFile(os.Args[0], childBin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}

// child is a supervised program with scripted behaviour:
//
//	sleep SECS            sleep, then exit 0
//	exit CODE [SECS]      exit with CODE, after SECS
//	print N               print N numbered lines to stdout at full speed
//	echo OUT ERR          print OUT to stdout and ERR to stderr, then sleep
//	ignoreterm            ignore SIGTERM and sleep
//	grandchildren N       ignore SIGTERM, start N children that ignore it
//	                      too, then sleep
//	orphan                start a child that outlives us by a second, exit 0
//	orphans N             start N short-lived children and exit at once
//	env                   print the environment, then sleep
//	id                    print uid, gid and groups, then sleep
func child(mode, _ []string) {
	secs := func(i int, def float64) time.Duration {
		if len(mode) > i {
			f, _ := strconv.ParseFloat(mode[i], 64)
			return time.Duration(f * float64(time.Second))
		}
		return time.Duration(def * float64(time.Second))
	}
	switch mode[0] {
	case "sleep":
		time.Sleep(secs(1, 3600))
	case "exit":
		time.Sleep(secs(2, 0))
		code, _ := strconv.Atoi(mode[1])
		os.Exit(code)
	case "print":
		n, _ := strconv.Atoi(mode[1])
		w := bufio.NewWriterSize(os.Stdout, 1<<16)
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, "line %07d %s\n", i, strings.Repeat("x", i%50))
		}
		w.Flush()
	case "echo":
		fmt.Fprintln(os.Stdout, mode[1])
		fmt.Fprintln(os.Stderr, mode[2])
		time.Sleep(time.Hour)
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
	case "grandchildren":
		signal.Ignore(syscall.SIGTERM)
		n, _ := strconv.Atoi(mode[1])
		for i := 0; i < n; i++ {
			c := exec.Command(os.Args[0])
			c.Env = append(os.Environ(), childEnv+"=ignoreterm")
			if err := c.Start(); err != nil {
				os.Exit(99)
			}
			fmt.Println("grandchild", c.Process.Pid)
		}
		time.Sleep(time.Hour)
	case "orphan":
		c := exec.Command(os.Args[0])
		c.Env = append(os.Environ(), childEnv+"=exit 5 1")
		if err := c.Start(); err != nil {
			os.Exit(99)
		}
		fmt.Println("orphan", c.Process.Pid)
		os.Exit(0)
	case "orphans":
		n, _ := strconv.Atoi(mode[1])
		for i := 0; i < n; i++ {
			c := exec.Command("/bin/sh", "-c", "exit 0")
			if err := c.Start(); err != nil {
				os.Exit(99)
			}
		}
		os.Exit(0)
	case "env":
		for _, kv := range os.Environ() {
			fmt.Println(kv)
		}
		time.Sleep(time.Hour)
	case "id":
		groups, _ := os.Getgroups()
		fmt.Printf("uid=%d gid=%d groups=%v\n", os.Getuid(), os.Getgid(), groups)
		time.Sleep(time.Hour)
	}
}

// childBin is a copy of the test binary that any user may run.
var childBin string

// prog returns a command= value for a child mode. Where timing matters
// (exit, sleep) it is the shell, which starts in a millisecond even on a
// loaded machine; the other modes run the test binary.
func prog(mode string) string {
	f := strings.Fields(mode)
	switch f[0] {
	case "sleep":
		if len(f) > 1 {
			return "/bin/sleep " + f[1]
		}
		return "/bin/sleep 3600"
	case "exit":
		if len(f) > 2 {
			return fmt.Sprintf(`/bin/sh -c "sleep %s; exit %s"`, f[2], f[1])
		}
		return fmt.Sprintf(`/bin/sh -c "exit %s"`, f[1])
	}
	return fmt.Sprintf("/usr/bin/env %s=%q %s", childEnv, mode, childBin)
}

// harness runs one supervisord (ours or Python's) on a config.
type harness struct {
	t    *testing.T
	dir  string
	conf string
	log  string
	cmd  *exec.Cmd
	done chan error
	// output, when set before run, receives the daemon's stdout and
	// stderr (the race detector's reports among them).
	output io.Writer
	// stdout, when set before run, receives the daemon's stdout alone.
	stdout io.Writer
	// extraFiles, when set before run, are inherited by the daemon.
	extraFiles []*os.File
}

// start writes a config whose [supervisord] section logs into a temp
// folder and runs bin on it in the foreground. body holds the programs.
func start(t *testing.T, bin, body string, extraArgs ...string) *harness {
	t.Helper()
	h := newHarness(t, body)
	h.run(bin, extraArgs...)
	return h
}

func newHarness(t *testing.T, body string) *harness {
	dir := t.TempDir()
	h := &harness{t: t, dir: dir, conf: filepath.Join(dir, "supervisord.conf"), log: filepath.Join(dir, "supervisord.log")}
	h.write(body)
	return h
}

func (h *harness) write(body string) {
	h.t.Helper()
	text := fmt.Sprintf("[supervisord]\nnodaemon=true\nsilent=true\nlogfile=%s\npidfile=%s/supervisord.pid\nchildlogdir=%s\nloglevel=info\nuser=root\n\n%s",
		h.log, h.dir, h.dir, body)
	if err := os.WriteFile(h.conf, []byte(text), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// run starts bin (or ours under "unshare", as PID 1 of a new pid
// namespace) through the shared harness; h.done receives its exit.
func (h *harness) run(bin string, extraArgs ...string) {
	o := daemontest.Options{Args: extraArgs, Output: os.Stderr}
	if bin == "unshare" {
		o.Prefix = []string{"unshare", "--pid", "--fork", "--mount-proc"}
		bin = supervisord
	}
	if h.output != nil {
		o.Output = h.output
	}
	o.Stdout = h.stdout
	o.ExtraFiles = h.extraFiles
	d := daemontest.Start(h.t, bin, h.conf, o)
	h.cmd = d.Cmd
	h.done = make(chan error, 1)
	go func() {
		<-d.Exited()
		h.done <- d.Err()
	}()
}

// lines returns the daemon log without timestamps.
func (h *harness) lines() []string { return daemontest.LogLines(h.log) }

// waitFor waits until the log has a line matching pattern and returns it.
func (h *harness) waitFor(pattern string, timeout time.Duration) string {
	h.t.Helper()
	return daemontest.WaitLog(h.t, h.log, pattern, timeout)
}

// stop sends SIGTERM to the daemon and waits for it to exit.
func (h *harness) stop(timeout time.Duration) error {
	h.t.Helper()
	return h.signalAndWait(syscall.SIGTERM, timeout)
}

func (h *harness) signalAndWait(sig syscall.Signal, timeout time.Duration) error {
	h.t.Helper()
	pid := h.daemonPID()
	syscall.Kill(pid, sig)
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(timeout):
		h.t.Fatalf("daemon did not exit within %v; log:\n%s", timeout, strings.Join(h.lines(), "\n"))
	}
	return nil
}

// daemonPID is the daemon's pid as this process sees it (under unshare,
// the child of the unshare process).
func (h *harness) daemonPID() int {
	if filepath.Base(h.cmd.Path) != "unshare" {
		return h.cmd.Process.Pid
	}
	for i := 0; i < 100; i++ {
		out, _ := exec.Command("pgrep", "-P", strconv.Itoa(h.cmd.Process.Pid)).Output()
		if pid, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatal("no daemon under unshare")
	return 0
}

// about filters the log lines that name a process (except the shutdown
// reports, which name several).
func about(lines []string, name string) []string {
	var out []string
	re := regexp.MustCompile(`(^|[ '])` + regexp.QuoteMeta(name) + `([ ':,]|$)`)
	for _, l := range lines {
		if re.MatchString(l) && !strings.Contains(l, "waiting for") {
			out = append(out, l)
		}
	}
	return out
}

var pidRE = regexp.MustCompile(`(pid |\()\d+`)

// normalize replaces pids with N.
func normalize(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = pidRE.ReplaceAllString(l, "${1}N")
	}
	return out
}
