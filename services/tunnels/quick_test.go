package tunnels

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/internal/testkit"
)

const deadline = 90 * time.Second

func readStatus(dir, name string) (Status, bool) {
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		return Status{}, false
	}
	var s Status
	if json.Unmarshal(b, &s) != nil {
		return Status{}, false
	}
	return s, true
}

func readRecord(t *testing.T, dir, url string) standinRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(url, "https://")+".json"))
	if err != nil {
		t.Fatalf("no stand-in cloudflared gave %s: %v", url, err)
	}
	var r standinRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func alive(pid int) bool {
	// The manager waits for its children, so a stopped one leaves no
	// zombie: the pid is gone.
	return syscall.Kill(pid, 0) == nil
}

type quickRig struct {
	ports, state, records string
	log                   *syncBuf
	cancel                context.CancelFunc
	done                  chan error
}

func startQuick(t *testing.T, extraEnv ...string) *quickRig {
	t.Helper()
	r := &quickRig{ports: t.TempDir(), state: filepath.Join(t.TempDir(), "tunnels"), records: t.TempDir(), log: &syncBuf{}}
	env := append([]string{"PATH=" + os.Getenv("PATH"), "STANDIN_DIR=" + r.records,
		// A token in the environment must not reach quick tunnels.
		"TUNNEL_TOKEN=must-not-be-used"}, extraEnv...)
	q := &Quick{PortsDir: r.ports, StateDir: r.state, Cloudflared: cloudflaredStandin(t), Env: env, Log: r.log,
		Backoff:   Backoff{Min: 50 * time.Millisecond, Max: 400 * time.Millisecond, Healthy: time.Minute},
		Discovery: Discovery{Interval: 20 * time.Millisecond, Limit: deadline}, StopWait: 10 * time.Second, Settle: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- q.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func (r *quickRig) register(t *testing.T, port int, body string) {
	t.Helper()
	// Written aside and renamed, as services should; a direct write is
	// read again once it settles.
	tmp := filepath.Join(r.ports, fmt.Sprintf(".%d.tmp", port))
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, filepath.Join(r.ports, fmt.Sprint(port))); err != nil {
		t.Error(err)
	}
}

func reg(port int, name string) string {
	return fmt.Sprintf(`{"listen_port":"%d","metrics_port":"","proxy_port":"%d","service_name":%q,"service_url":""}`, port+10000, port, name)
}

// TestQuick_followsRegistrations: registrations written in random order
// with random delays, and cloudflareds that take random times to get
// their hostnames: every published URL belongs to a tunnel that leads to
// that service's own port; tunnels stop when their registrations go, and
// all stop with the manager.
func TestQuick_followsRegistrations(t *testing.T) {
	r := startQuick(t, "STANDIN_MAX_DELAY_MS=400")
	ports := []int{1111, 8188, 8384, 6100, 6200, 7860}
	var wg sync.WaitGroup
	for _, i := range rand.Perm(len(ports)) {
		port := ports[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
			r.register(t, port, reg(port, fmt.Sprintf("service %d", port)))
		}()
	}
	// Asks for no tunnel; and one whose content names another port.
	r.register(t, 9000, `{"proxy_port":"9000","service_name":"private","quick_tunnel":"false"}`)
	r.register(t, 9001, `{"proxy_port":"8188","service_name":"copied"}`)
	wg.Wait()

	pids := map[int]int{}
	for _, port := range ports {
		name := fmt.Sprint(port)
		var st Status
		waitUntil(t, "quick tunnel "+name+" running", r.log, func() bool {
			var ok bool
			st, ok = readStatus(r.state, name)
			return ok && st.State == StateRunning && st.URL != ""
		})
		rec := readRecord(t, r.records, st.URL)
		want := fmt.Sprintf("http://localhost:%d", port)
		if rec.URL != want || st.Target != want || st.Port != port || st.ServiceName != "service "+name {
			t.Errorf("tunnel %s published %s (target %s, service %q), but that cloudflared leads to %s", name, st.URL, st.Target, st.ServiceName, rec.URL)
		}
		if rec.Protocol != "http2" || !rec.NoAutoupdate || rec.TokenFrom != "" || rec.PID != st.PID {
			t.Errorf("tunnel %s: cloudflared ran with %+v (status pid %d)", name, rec, st.PID)
		}
		pids[port] = st.PID
	}
	for _, name := range []string{"9000", "9001"} {
		if _, ok := readStatus(r.state, name); ok {
			t.Errorf("registration %s got a tunnel", name)
		}
	}
	if !strings.Contains(r.log.String(), "registration 9001: proxy_port 8188 differs from the file name 9001; no quick tunnel for it") {
		t.Errorf("the bad registration is not reported:\n%s", r.log)
	}

	// Two services go, one comes.
	for _, port := range []int{8188, 6100} {
		if err := os.Remove(filepath.Join(r.ports, fmt.Sprint(port))); err != nil {
			t.Fatal(err)
		}
	}
	r.register(t, 3000, reg(3000, "late"))
	waitUntil(t, "stopped tunnels' status removed", r.log, func() bool {
		_, a := readStatus(r.state, "8188")
		_, b := readStatus(r.state, "6100")
		st, c := readStatus(r.state, "3000")
		return !a && !b && c && st.State == StateRunning
	})
	for _, port := range []int{8188, 6100} {
		if alive(pids[port]) {
			t.Errorf("cloudflared of removed registration %d (pid %d) still runs", port, pids[port])
		}
	}
	if !alive(pids[1111]) {
		t.Errorf("cloudflared of 1111 was stopped too")
	}
	st, _ := readStatus(r.state, "3000")
	pids[3000] = st.PID

	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	r.done <- nil // for the cleanup
	for port, pid := range pids {
		if alive(pid) {
			t.Errorf("cloudflared of %d (pid %d) runs after the manager stopped", port, pid)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(r.state, "*.json")); len(m) != 0 {
		t.Errorf("status files left after the manager stopped: %v", m)
	}
}

// TestQuick_backoff: a cloudflared that cannot get a tunnel is started
// again with growing pauses, its error in the status file and one log
// line per exit.
func TestQuick_backoff(t *testing.T) {
	r := startQuick(t, "STANDIN_FAIL_QUICK=1")
	r.register(t, 8188, reg(8188, "ComfyUI"))
	waitUntil(t, "three failed starts", r.log, func() bool {
		return strings.Count(r.log.String(), "quick tunnel 8188: cloudflared exited") >= 3
	})
	st, ok := readStatus(r.state, "8188")
	if !ok || st.State != StateBackoff || !strings.Contains(st.Error, "failed to request quick Tunnel") || st.RetryAt == "" {
		t.Fatalf("status %+v; want backoff with cloudflared's error", st)
	}
	log := r.log.String()
	for _, want := range []string{"starting it again in 50ms", "starting it again in 100ms", "starting it again in 200ms"} {
		if !strings.Contains(log, want) {
			t.Errorf("no %q in the log:\n%s", want, log)
		}
	}
}

// syncBuf and waitUntil: the services' shared test kit, with this
// package's deadline.
type syncBuf = testkit.Buffer

func waitUntil(t *testing.T, what string, log fmt.Stringer, cond func() bool) {
	t.Helper()
	testkit.WaitUntil(t, what, deadline, log, cond)
}
