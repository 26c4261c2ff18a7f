package tunnels

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Backoff bounds the pauses between starts of a cloudflared that exits:
// Min after the first exit, doubling up to Max; a run that lasted longer
// than Healthy starts the next pause at Min again.
type Backoff struct {
	Min, Max, Healthy time.Duration
}

// DefaultBackoff: a rejected token or an unreachable edge costs one start
// (and a few log lines) per 5 minutes at most.
var DefaultBackoff = Backoff{Min: 2 * time.Second, Max: 5 * time.Minute, Healthy: 2 * time.Minute}

func (b Backoff) next(cur time.Duration, ran time.Duration) time.Duration {
	if cur == 0 || ran > b.Healthy {
		return b.Min
	}
	if cur *= 2; cur > b.Max {
		cur = b.Max
	}
	return cur
}

// child is one supervised cloudflared: its status file's name, how to
// build its command line for a metrics address, and how to learn from
// that address what the tunnel is (the URL, the hostnames).
type child struct {
	name        string // status file name and log prefix ("8188", "named")
	label       string // how the log calls it ("quick tunnel 8188")
	metricsPort int    // 0: a free loopback port is chosen for each start
	args        func(metrics string) []string
	env         []string
	status      Status // the fixed fields (kind, port, service, target)
	discover    func(ctx context.Context, metrics string, st Status) (Status, error)
}

type discovered struct {
	st  Status
	err error
}

// supervisor runs children with one set of settings.
type supervisor struct {
	cloudflared string
	pub         publisher
	log         *lineLog
	backoff     Backoff
	stopWait    time.Duration // SIGTERM, then SIGKILL after this long
}

// run keeps c's cloudflared running until ctx ends, then stops it and
// removes its status file.
func (s *supervisor) run(ctx context.Context, c child) {
	defer s.pub.remove(c.name)
	var pause time.Duration
	for {
		began := time.Now()
		err := s.once(ctx, c)
		if ctx.Err() != nil {
			return
		}
		pause = s.backoff.next(pause, time.Since(began))
		st := c.status
		st.State = StateBackoff
		st.Error = err.Error()
		st.RetryAt = time.Now().Add(pause).UTC().Format(time.RFC3339)
		s.publish(c, st)
		s.log.printf("%s: %v; starting it again in %v", c.label, err, pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

func (s *supervisor) publish(c child, st Status) {
	if err := s.pub.write(c.name, st); err != nil {
		s.log.printf("%s: %v", c.label, err)
	}
}

// once runs cloudflared until it exits (the error says how, with its
// last error line) or ctx ends.
func (s *supervisor) once(ctx context.Context, c child) error {
	metrics, err := metricsAddr(c.metricsPort)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.cloudflared, c.args(metrics)...)
	cmd.Env = c.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("making cloudflared's output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("starting %s: %w", s.cloudflared, err)
	}
	pw.Close()
	out := newOutput(s.log, c.label)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		out.copy(pr)
		pr.Close()
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	st := c.status
	st.State, st.PID, st.Metrics = StateStarting, cmd.Process.Pid, metrics
	s.publish(c, st)
	s.log.printf("%s: started cloudflared (pid %d, metrics %s)", c.label, cmd.Process.Pid, metrics)

	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make(chan discovered, 1)
	go func() {
		d, err := c.discover(dctx, metrics, st)
		found <- discovered{d, err}
	}()
	for {
		select {
		case d := <-found:
			found = nil
			st, err = d.st, d.err
			if err != nil {
				if dctx.Err() != nil {
					continue
				}
				st.Error = err.Error()
				s.log.printf("%s: %v", c.label, err)
			} else {
				st.State, st.Error = StateRunning, ""
				if st.URL != "" {
					s.log.printf("%s: %s → %s", c.label, st.URL, st.Target)
				} else {
					s.log.printf("%s: hostnames %s", c.label, strings.Join(st.Hostnames, ", "))
				}
			}
			s.publish(c, st)
		case err := <-exited:
			cancel()
			<-copied
			return fmt.Errorf("cloudflared exited (%s)%s", exitText(err), out.lastError())
		case <-ctx.Done():
			cancel()
			s.stop(cmd, exited)
			<-copied
			return ctx.Err()
		}
	}
}

// stop sends SIGTERM to cloudflared's process group (cloudflared shuts
// down gracefully on it), then SIGKILL after stopWait.
func (s *supervisor) stop(cmd *exec.Cmd, exited <-chan error) {
	pid := cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(s.stopWait):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// metricsAddr is 127.0.0.1:port, or a free loopback port when port is 0.
// The metrics server answers anyone who reaches it, so it never listens
// beyond the loopback interface.
func metricsAddr(port int) (string, error) {
	if port != 0 {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("choosing a metrics port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// output forwards cloudflared's lines to the log, prefixed with the
// tunnel, at most burst lines per minute (cloudflared repeats its
// connection errors; the rest are counted and the count logged), and
// remembers the last error line for the status.
type output struct {
	log   *lineLog
	label string
	mu    sync.Mutex
	last  string
}

const burst = 60

func newOutput(l *lineLog, label string) *output { return &output{log: l, label: label} }

func (o *output) copy(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	window, n, dropped := time.Now(), 0, 0
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if msg := errorMessage(line); msg != "" {
			o.mu.Lock()
			o.last = msg
			o.mu.Unlock()
		}
		if time.Since(window) > time.Minute {
			if dropped > 0 {
				o.log.printf("%s: %d lines of cloudflared output not shown", o.label, dropped)
			}
			window, n, dropped = time.Now(), 0, 0
		}
		if n++; n > burst {
			dropped++
			continue
		}
		o.log.printf("%s: %s", o.label, line)
	}
	if dropped > 0 {
		o.log.printf("%s: %d lines of cloudflared output not shown", o.label, dropped)
	}
}

func (o *output) lastError() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == "" {
		return ""
	}
	return ": " + o.last
}

// errorMessage returns the message of a cloudflared error line
// ("2024-05-01T10:00:00Z ERR failed to request quick Tunnel error=…"),
// or of a line without a level (usage errors go to stderr bare); "" for
// INF, WRN and DBG lines.
func errorMessage(line string) string {
	f := strings.SplitN(strings.TrimSpace(line), " ", 3)
	if len(f) == 3 && len(f[0]) >= 20 && f[0][4] == '-' {
		switch f[1] {
		case "ERR", "FTL":
			return clean(f[2], 300)
		case "INF", "WRN", "DBG":
			return ""
		}
	}
	if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "|") && !strings.HasPrefix(s, "+") {
		return clean(s, 300)
	}
	return ""
}

// lineLog writes whole lines to w, one writer at a time.
type lineLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineLog) printf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", a...)
}
