package daemon_test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
)

// deafProgram ignores SIGTERM: the shell sets the disposition and execs
// sleep, which keeps it (one small process; no orphan after SIGKILL).
const deafProgram = `/bin/sh -c "trap '' TERM; exec /bin/sleep 3600"`

// ignoresTERM reports whether pid has SIGTERM ignored (SigIgn bit 15).
func ignoresTERM(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	m := regexp.MustCompile(`(?m)^SigIgn:\s*([0-9a-f]+)$`).FindSubmatch(data)
	if m == nil {
		return false
	}
	mask, err := strconv.ParseUint(string(m[1]), 16, 64)
	return err == nil && mask&(1<<(syscall.SIGTERM-1)) != 0
}

var spawnedRE = regexp.MustCompile(`spawned: '([^']+)' with pid (\d+)`)

// spawnedPIDs maps each program to its pid, from the log.
func spawnedPIDs(lines []string) map[string]int {
	out := map[string]int{}
	for _, l := range lines {
		if m := spawnedRE.FindStringSubmatch(l); m != nil {
			out[m[1]], _ = strconv.Atoi(m[2])
		}
	}
	return out
}

// waitDeaf waits until every program of pids has SIGTERM ignored, so the
// budget, not the stop signal, is what ends them.
func waitDeaf(t *testing.T, h *harness, n int) map[string]int {
	t.Helper()
	var pids map[string]int
	waitUntil(t, 120*time.Second, fmt.Sprintf("%d programs running with SIGTERM ignored", n), func() bool {
		pids = spawnedPIDs(h.lines())
		if len(pids) < n {
			return false
		}
		for _, pid := range pids {
			if !ignoresTERM(pid) {
				return false
			}
		}
		return true
	})
	return pids
}

// assertAllGone fails for every pid that still runs the deaf program.
func assertAllGone(t *testing.T, pids map[string]int) {
	t.Helper()
	for name, pid := range pids {
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.Contains(string(cmd), "3600") {
			t.Errorf("%s (pid %d) still runs after the daemon exited", name, pid)
		}
	}
}

// TestDaemon_shutdownBudget: 50 programs that ignore SIGTERM, each with
// stopwaitsecs=30 (Python's stop: 25 minutes), and shutdown_budget=5. The
// daemon must stop them in order (priority from the highest down; p10
// depends on p40, so p10 goes just before p40), kill each early, name
// every early kill in the log, leave no child behind and exit long before
// one stopwaitsecs has passed.
func TestDaemon_shutdownBudget(t *testing.T) {
	const n = 50
	var body strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&body, "[program:p%02d]\ncommand=%s\npriority=%d\nstartsecs=1\nstopwaitsecs=30\n", i, deafProgram, 100+i)
		if i == 10 {
			body.WriteString("depends_on=p40\n")
		}
		body.WriteString("\n")
	}
	h := newHarness(t, "")
	writeWithExtra(t, h, "shutdown_budget = 5\n", body.String())
	h.run(supervisord)
	pids := waitDeaf(t, h, n)

	began := time.Now()
	if err := h.stop(120 * time.Second); err != nil {
		t.Fatalf("daemon exit: %v", err)
	}
	took := time.Since(began)
	t.Logf("50 programs ignoring SIGTERM, stopwaitsecs=30, shutdown_budget=5: SIGTERM to exit in %v", took.Round(time.Millisecond))
	// 30 s is one program's stopwaitsecs; the budget is 5 s. The margin
	// is for a loaded machine under -race, far from what would happen
	// without the budget (the first program alone would take 30 s).
	if took > 20*time.Second {
		t.Errorf("the daemon took %v to stop, want well under 20 s with shutdown_budget=5", took)
	}
	assertAllGone(t, pids)

	lines := h.lines()
	text := strings.Join(lines, "\n")
	if os.Getenv("BUDGET_DUMP") != "" {
		raw, _ := os.ReadFile(h.log)
		t.Logf("%s", raw)
	}
	if !strings.Contains(text, "shutdown_budget: stopping everything within 5s (set by shutdown_budget)") {
		t.Errorf("no line announcing the budget; log:\n%s", text)
	}
	// The order in which they stopped, and those killed at the deadline.
	var order []string
	atDeadline := map[string]bool{}
	stoppedRE := regexp.MustCompile(`stopped: (p\d\d) \(terminated by SIGKILL\)`)
	earlyRE := regexp.MustCompile(`shutdown_budget: killing (p\d\d) \(pid \d+\) with SIGKILL early`)
	lateRE := regexp.MustCompile(`shutdown_budget: 5s spent: killing (p\d\d) `)
	early := map[string]bool{}
	for _, l := range lines {
		if m := stoppedRE.FindStringSubmatch(l); m != nil {
			order = append(order, m[1])
		}
		if m := earlyRE.FindStringSubmatch(l); m != nil {
			early[m[1]] = true
		}
		if m := lateRE.FindStringSubmatch(l); m != nil {
			atDeadline[m[1]] = true
		}
	}
	want := expectedStopOrder()
	if len(order) != n {
		t.Fatalf("%d programs logged as stopped by SIGKILL, want %d; log:\n%s", len(order), n, text)
	}
	// Those stopped in turn come first, in order; those killed at the
	// deadline (none, unless the machine is very slow) are the rest.
	inTurn := n - len(atDeadline)
	if strings.Join(order[:inTurn], " ") != strings.Join(want[:inTurn], " ") {
		t.Errorf("stop order:\n got %v\nwant %v", order[:inTurn], want[:inTurn])
	}
	for _, name := range want[inTurn:] {
		if !atDeadline[name] {
			t.Errorf("%s was neither stopped in turn nor killed at the deadline", name)
		}
	}
	for _, name := range want {
		if !early[name] && !atDeadline[name] {
			t.Errorf("the log does not name %s as killed early", name)
		}
	}
	if len(atDeadline) > 0 {
		t.Logf("%d programs killed at the deadline rather than in turn: %v", len(atDeadline), atDeadline)
	}
}

// expectedStopOrder is p49 down to p00, with p10 moved just before p40
// (it depends on p40).
func expectedStopOrder() []string {
	var out []string
	for i := 49; i >= 0; i-- {
		switch i {
		case 10:
			continue
		case 40:
			out = append(out, "p10")
		}
		out = append(out, fmt.Sprintf("p%02d", i))
	}
	return out
}

// writeWithExtra rewrites the harness's config with extra lines in its
// [supervisord] section and body after it.
func writeWithExtra(t *testing.T, h *harness, extra, body string) {
	t.Helper()
	h.write(body)
	data, err := os.ReadFile(h.conf)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "[supervisord]\n", "[supervisord]\n"+extra, 1)
	if err := os.WriteFile(h.conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDaemon_shutdownBudgetFromEnvironment: the environment variable wins
// over the file (the platform knows its deadline): the file allows 600 s,
// SUPERVISOR_SHUTDOWN_BUDGET=2, and three deaf programs with
// stopwaitsecs=30 stop far sooner than 30 s.
func TestDaemon_shutdownBudgetFromEnvironment(t *testing.T) {
	t.Setenv(config.ShutdownBudgetEnv, "2")
	var body strings.Builder
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&body, "[program:d%d]\ncommand=%s\nstartsecs=1\nstopwaitsecs=30\n\n", i, deafProgram)
	}
	h := newHarness(t, "")
	writeWithExtra(t, h, "shutdown_budget = 600\n", body.String())
	h.run(supervisord)
	pids := waitDeaf(t, h, 3)
	began := time.Now()
	if err := h.stop(120 * time.Second); err != nil {
		t.Fatalf("daemon exit: %v", err)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("the daemon took %v to stop, want well under 20 s with %s=2", took, config.ShutdownBudgetEnv)
	}
	assertAllGone(t, pids)
	text := strings.Join(h.lines(), "\n")
	if !strings.Contains(text, "within 2s (set by "+config.ShutdownBudgetEnv+")") {
		t.Errorf("the log does not say the budget came from %s:\n%s", config.ShutdownBudgetEnv, text)
	}
	for i := 0; i < 3; i++ {
		if !strings.Contains(text, fmt.Sprintf("killing d%d (pid %d) with SIGKILL early", i, pids[fmt.Sprintf("d%d", i)])) &&
			!strings.Contains(text, fmt.Sprintf("2s spent: killing d%d ", i)) {
			t.Errorf("the log does not name d%d as killed early:\n%s", i, text)
		}
	}
}

// TestDaemon_shutdownBudgetIsAnExtension: Python 4.2.5 loads a file that
// sets shutdown_budget and ignores it (its stop waits the whole
// stopwaitsecs, then kills), and ours without the option stops the same
// way, with Python's lines and none of the budget's.
func TestDaemon_shutdownBudgetIsAnExtension(t *testing.T) {
	if _, err := os.Stat("/usr/bin/supervisord"); err != nil {
		t.Fatal("Python supervisord is not installed (scripts/test installs it)")
	}
	body := fmt.Sprintf("[program:deaf]\ncommand=%s\nstartsecs=1\nstopwaitsecs=1\n", deafProgram)
	for _, tc := range []struct {
		bin, extra string
	}{
		{"/usr/bin/supervisord", "shutdown_budget = 30\n"},
		{supervisord, ""},
	} {
		h := newHarness(t, "")
		writeWithExtra(t, h, tc.extra, body)
		h.run(tc.bin)
		pids := waitDeaf(t, h, 1)
		if err := h.stop(60 * time.Second); err != nil {
			t.Fatalf("%s: exit: %v", tc.bin, err)
		}
		assertAllGone(t, pids)
		text := strings.Join(h.lines(), "\n")
		if !regexp.MustCompile(`killing 'deaf' \(\d+\) with SIGKILL`).MatchString(text) || strings.Contains(text, "shutdown_budget") {
			t.Errorf("%s: want Python's stop (SIGKILL after stopwaitsecs) and no budget; log:\n%s", tc.bin, text)
		}
	}
}
