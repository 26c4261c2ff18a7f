package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/daemontest"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// lockedBuffer collects a daemon's output while the test reads it.
type lockedBuffer = daemontest.Buffer

// count is how many log lines contain s.
func (h *harness) count(s string) int {
	n := 0
	for _, l := range h.lines() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// waitCount waits until at least n log lines contain s.
func (h *harness) waitCount(s string, n int, timeout time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for h.count(s) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("fewer than %d log lines with %q after %v; log:\n%s", n, s, timeout, strings.Join(h.lines(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exitedCleanly checks that the daemon exited 0 and that the race
// detector (in a -race build) found nothing.
func (h *harness) exitedCleanly(out *lockedBuffer) {
	h.t.Helper()
	if err := h.stop(30 * time.Second); err != nil {
		h.t.Errorf("daemon exited with %v; output:\n%s", err, out)
	}
	if strings.Contains(out.String(), "DATA RACE") {
		h.t.Errorf("the race detector found a data race:\n%s", out)
	}
}

// The config watcher's goroutine must be gone before a reload replaces
// the fields it reads (the watcher, its event channel and the log): a
// SIGHUP while files change under watch_config was a data race.
func TestDaemon_sighupWithWatchConfigHasNoRace(t *testing.T) {
	if !raceEnabled {
		t.Skip("the race detector finds this bug: run with -race")
	}
	h := newHarness(t, "[supervisord]\nwatch_config=true\n\n[include]\nfiles=conf.d/*.conf\n")
	confd := filepath.Join(h.dir, "conf.d")
	if err := os.Mkdir(confd, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(i int) {
		// A program nobody starts: only the watcher notices the edit.
		text := fmt.Sprintf("[program:p]\ncommand=/bin/sleep %d\nautostart=false\n", 1000+i)
		if err := os.WriteFile(filepath.Join(confd, "p.conf"), []byte(text), 0o644); err != nil {
			t.Error(err)
		}
	}
	write(0)
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	h.waitCount("supervisord started with pid", 1, 20*time.Second)

	stop := make(chan struct{})
	var editing sync.WaitGroup
	editing.Add(1)
	go func() { // edits all along, so the watcher is busy at every reload
		defer editing.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			write(i)
			time.Sleep(time.Millisecond)
		}
	}()
	pid := h.daemonPID()
	for n := 2; n <= 6; n++ {
		syscall.Kill(pid, syscall.SIGHUP)
		h.waitCount("supervisord started with pid", n, 30*time.Second)
	}
	close(stop)
	editing.Wait()
	// The watcher still works after the reloads.
	os.WriteFile(filepath.Join(confd, "q.conf"), []byte("[program:q]\ncommand=/bin/sleep 1000\nstartsecs=0\n"), 0o644)
	h.waitFor(`success: q entered RUNNING`, 20*time.Second)
	h.exitedCleanly(out)
}

// rpcClient is an XML-RPC client of the harness's unix socket.
func (h *harness) rpcClient() *xmlrpc.Client {
	h.t.Helper()
	c, err := xmlrpc.NewClient("unix://"+filepath.Join(h.dir, "sock"), "", "")
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// call makes an API call that must answer within a generous deadline: a
// daemon whose loop is stuck never answers.
func call(t *testing.T, c *xmlrpc.Client, method string, args ...any) (any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := c.Call(ctx, method, args...)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s did not answer: the event loop is blocked", method)
	}
	return v, err
}

const rpcSections = "[unix_http_server]\nfile=%(here)s/sock\n\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"

// sendProcessStdin to a child that never reads must not block the daemon:
// the data is queued up to a bound, past which the call fails clearly.
func TestDaemon_sendProcessStdinToAChildThatNeverReads(t *testing.T) {
	h := newHarness(t, rpcSections+"[program:deaf]\ncommand=/bin/sleep 3600\nstartsecs=0\n")
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	h.waitFor(`success: deaf entered RUNNING`, 20*time.Second)
	c := h.rpcClient()
	piece := strings.Repeat("x", 200<<10) // over a pipe's 64 KiB
	var fault *xmlrpc.Fault
	for i := 0; i < 20; i++ {
		_, err := call(t, c, "supervisor.sendProcessStdin", "deaf", piece)
		if err == nil {
			continue
		}
		if !errors.As(err, &fault) {
			t.Fatalf("sendProcessStdin: %v", err)
		}
		break
	}
	if fault == nil || fault.Code != 30 || !strings.Contains(fault.String, "'deaf' has not read") {
		t.Fatalf("past the bound: fault %v, want FAILED naming the process", fault)
	}
	if v, err := call(t, c, "supervisor.getState"); err != nil || v.(map[string]any)["statename"] != "RUNNING" {
		t.Fatalf("getState = %v, %v", v, err)
	}
	h.exitedCleanly(out)
}

// An event listener that says READY and then never reads its stdin must
// not block the daemon when a large event is sent to it.
func TestDaemon_eventToAListenerThatNeverReads(t *testing.T) {
	h := newHarness(t, "[supervisord]\nloglevel=debug\n\n"+rpcSections+"[eventlistener:deaf]\ncommand=/bin/sh -c \"echo READY; exec sleep 3600\"\nevents=REMOTE_COMMUNICATION\nstartsecs=0\n")
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	h.waitFor(`deaf: ACKNOWLEDGED -> READY`, 20*time.Second)
	c := h.rpcClient()
	big := strings.Repeat("y", 300<<10) // over a pipe's 64 KiB
	if _, err := call(t, c, "supervisor.sendRemoteCommEvent", "big", big); err != nil {
		t.Fatal(err)
	}
	h.waitFor(`event \d+ sent to listener deaf`, 20*time.Second)
	for i := 0; i < 5; i++ {
		if _, err := call(t, c, "supervisor.getState"); err != nil {
			t.Fatal(err)
		}
	}
	h.exitedCleanly(out)
}

// In the foreground the daemon logs to stdout; when the reader of that
// pipe exits (`supervisord -n | head -c 3000`), the daemon must carry on
// with its log file, saying so once there, instead of dying of SIGPIPE.
func TestDaemon_brokenStdoutIsNotFatal(t *testing.T) {
	h := newHarness(t, "[supervisord]\nsilent=false\n\n[program:p]\ncommand=/bin/sleep 3600\nstartsecs=0\n")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	head := exec.Command("head", "-c", "3000")
	head.Stdin, head.Stdout = r, io.Discard
	if err := head.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	headDone := make(chan struct{})
	go func() { head.Wait(); close(headDone) }()
	out := &lockedBuffer{}
	h.output, h.stdout = out, w
	h.run(supervisord)
	w.Close()
	h.waitFor(`success: p entered RUNNING`, 20*time.Second)
	pid := h.daemonPID()
	const reopen = "received SIGUSR2 indicating log reopen request"
	// Log lines until head has read its 3000 bytes and gone, then more.
	after := -1
	for i := 1; after < 0 || i <= after+3; i++ {
		if i > 500 {
			t.Fatal("head never exited")
		}
		select {
		case <-headDone:
			if after < 0 {
				after = i
			}
		default:
		}
		syscall.Kill(pid, syscall.SIGUSR2)
		h.waitCount(reopen, i, 20*time.Second)
	}
	h.waitFor(`stopped logging to stdout, which is no longer writable \(.*broken pipe\); this log file goes on`, 20*time.Second)
	if n := h.count("stopped logging to stdout"); n != 1 {
		t.Errorf("the broken stdout was reported %d times, want once", n)
	}
	if n := h.count("exited: p"); n != 0 {
		t.Error("the child did not survive the broken stdout")
	}
	h.exitedCleanly(out)
}

// A storm of SIGHUPs (a script gone wrong, a restart loop in a wrapper)
// is coalesced: a restart under way absorbs the signals, and those that
// came during it make one more, so the daemon restarts a bounded number
// of times and the API answers after.
func TestDaemon_sighupStormIsCoalesced(t *testing.T) {
	h := newHarness(t, rpcSections+"[program:a]\ncommand=/bin/sleep 3600\nstartsecs=0\n\n[program:b]\ncommand=/bin/sleep 3600\nstartsecs=0\n")
	out := &lockedBuffer{}
	h.output = out
	h.run(supervisord)
	h.waitFor(`success: b entered RUNNING`, 20*time.Second)
	pid := h.daemonPID()
	const started = "supervisord started with pid"
	// One restart for the first signal, one for those during it; a loaded
	// machine that pauses the sender for a second may add one or two.
	restarts := func() {
		t.Helper()
		if n := h.count(started) - 1; n > 4 {
			t.Fatalf("100 SIGHUPs restarted the daemon %d times, want 2 to 4; log:\n%s", n, strings.Join(h.lines(), "\n"))
		}
	}
	for i := 0; i < 100; i++ { // 100 signals in about 5 seconds
		syscall.Kill(pid, syscall.SIGHUP)
		time.Sleep(50 * time.Millisecond)
	}
	// Signals that arrive while a restart reads the files again are
	// dropped once the channel is full (as the kernel merges pending ones):
	// at least a good part of them is seen.
	h.waitCount("received SIGHUP indicating restart request", 20, 30*time.Second)
	c := h.rpcClient()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		v, err := c.Call(ctx, "supervisor.getState")
		cancel()
		if err == nil && v.(map[string]any)["statename"] == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API does not answer RUNNING after the storm: %v, %v", v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	restarts()
	// The signals that came during the first restart make one more, once
	// they stop.
	h.waitFor(`restarting for the SIGHUP received during the last restart`, 30*time.Second)
	h.waitCount(started, 3, 30*time.Second)
	h.waitFor(`success: b entered RUNNING`, 20*time.Second)
	h.exitedCleanly(out)
	restarts()
}

// TestDaemon_sigtermDuringASighupStormIsNotLost: a SIGTERM sent while a
// flood of SIGHUPs fills the signal channel (between two loops of a
// restart, while the configuration is read again, nothing reads it) still
// stops the daemon: stop requests have a channel of their own.
func TestDaemon_sigtermDuringASighupStormIsNotLost(t *testing.T) {
	var body strings.Builder
	body.WriteString("[program:a]\ncommand=/bin/sleep 3600\nstartsecs=0\n")
	// Enough programs that reading the configuration again takes a while.
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&body, "[program:idle%d]\ncommand=/bin/sleep 3600\nautostart=false\n", i)
	}
	h := start(t, supervisord, body.String())
	h.waitFor(`success: a entered RUNNING`, 60*time.Second)
	pid := h.daemonPID()
	syscall.Kill(pid, syscall.SIGHUP)
	// Once a has stopped, the loop ends and the restart reads the files.
	h.waitFor(`stopped: a \(terminated by SIGTERM\)`, 60*time.Second)
	for i := 0; i < 200; i++ {
		syscall.Kill(pid, syscall.SIGHUP)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 50; i++ {
		syscall.Kill(pid, syscall.SIGHUP)
	}
	select {
	case err := <-h.done:
		h.done <- err
	case <-time.After(90 * time.Second):
		t.Fatalf("SIGTERM sent during a SIGHUP storm was lost: the daemon still runs; log:\n%s", strings.Join(h.lines(), "\n"))
	}
	h.waitFor(`received SIGTERM indicating exit request`, time.Second)
}
