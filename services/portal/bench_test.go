package portal_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/portal/caddy"
)

// TestBench_Portal measures, for scripts/bench-portal (PORTAL_BENCH=1):
// the latency forward-auth adds through Caddy (wrk against one site with
// and one without it), and the portal's RSS and CPU idle and with 100 SSE
// viewers of a log written at 1 MB/s. It reports; it asserts nothing.
func TestBench_Portal(t *testing.T) {
	if os.Getenv("PORTAL_BENCH") == "" {
		t.Skip("PORTAL_BENCH=1 runs it (scripts/bench-portal)")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk is not installed (apt-get install wrk)")
	}
	var rows []string
	row := func(format string, a ...any) {
		rows = append(rows, fmt.Sprintf(format, a...))
	}
	b := startBox(t, boxOpts{})
	be := startBackend(t)
	cookie := b.login(b.publicPort, "/login")

	// A second Caddy, loaded by hand: one site with forward_auth to the
	// portal, one without, both to the same backend.
	tmp := t.TempDir()
	sock := filepath.Join(tmp, "c.sock")
	base, _ := json.Marshal(map[string]any{"admin": map[string]any{"listen": "unix/" + sock}})
	os.WriteFile(filepath.Join(tmp, "base.json"), base, 0o644)
	cmd := exec.Command("caddy", "run", "--config", filepath.Join(tmp, "base.json"))
	cmd.Env = append(os.Environ(), "HOME="+tmp, "XDG_CONFIG_HOME="+tmp, "XDG_DATA_HOME="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	open, authed := freePort(t), freePort(t)
	cfg, _ := caddy.Build(caddy.Options{AdminSocket: sock, PortalAddr: b.portalAddr, Sites: []caddy.Site{
		{PublicPort: open, Upstream: be.port, Open: true}, {PublicPort: authed, Upstream: be.port}}})
	waitFor(t, "the second caddy", func() error { return caddy.NewAdmin(sock).Load(context.Background(), cfg) })
	p50 := regexp.MustCompile(`(?m)^\s+50%\s+([0-9.]+)(us|ms|s)`)
	rps := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrk := func(port int, conns string) (float64, string) {
		out, err := exec.Command("wrk", "-t1", "-c"+conns, "-d10s", "--latency", "-H", "Cookie: "+cookie,
			fmt.Sprintf("http://127.0.0.1:%d/x", port)).CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		m := p50.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("wrk output:\n%s", out)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		switch m[2] {
		case "ms":
			v *= 1000
		case "s":
			v *= 1e6
		}
		r := rps.FindStringSubmatch(string(out))
		return v, r[1]
	}
	for _, c := range []string{"1", "16"} {
		o50, orps := wrk(open, c)
		a50, arps := wrk(authed, c)
		row("| wrk -t1 -c%s -d10s through Caddy, no forward_auth | median %.0f µs | %s req/s |", c, o50, orps)
		row("| same with forward_auth (session cookie) | median %.0f µs | %s req/s |", a50, arps)
		row("| latency forward_auth adds at %s connection(s) | %.0f µs (target ≤ 1 ms) | |", c, a50-o50)
	}

	// The portal as its own process.
	bin := filepath.Join(tmp, "portal")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/gpudesk/runtime/services/portal/cmd/portal").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	root := filepath.Join(tmp, "root")
	os.MkdirAll(filepath.Join(root, "var/log"), 0o755)
	writeCreds(t, root, testUser, testPassword, testToken, true)
	logPath := filepath.Join(root, "var/log/logtail.log")
	os.WriteFile(logPath, nil, 0o644)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	pc := exec.Command(bin, "--root", root, "--listen", addr, "--no-register", "--public-port", strconv.Itoa(freePort(t)),
		"--caddy-admin", filepath.Join(tmp, "none.sock"), "--supervisor-url", "unix://"+filepath.Join(tmp, "none-sup.sock"),
		"--caddy-check", "5s")
	pc.Stdout, pc.Stderr = io.Discard, io.Discard
	pc.Env = append(os.Environ(), os.Getenv("PORTAL_BENCH_ENV"))
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { pc.Process.Kill(); pc.Wait() }()
	waitFor(t, "the portal process", func() error {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	pid := pc.Process.Pid
	time.Sleep(3 * time.Second) // settle before measuring: this is a measurement, not a wait for an outcome
	cpu0, t0 := cpuTicks(t, pid), time.Now()
	time.Sleep(10 * time.Second)
	idleCPU := cpuShare(cpuTicks(t, pid)-cpu0, time.Since(t0))
	row("| portal idle | RSS %s | CPU %.2f%% of a core |", rss(t, pid), idleCPU)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var received atomic.Int64
	for i := 0; i < 100; i++ {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/logs/logtail/stream", nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReaderSize(resp.Body, 64<<10)
			buf := make([]byte, 64<<10)
			for {
				n, err := br.Read(buf)
				received.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}
	go func() { // 1 MB/s: 100 lines of 100 bytes every 10 ms
		f, _ := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
		defer f.Close()
		line := strings.Repeat("x", 87) + " \x1b[32mok\x1b[0m\n" // 100 bytes
		chunk := strings.Repeat(line, 100)
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				f.WriteString(chunk)
			}
		}
	}()
	time.Sleep(5 * time.Second)
	cpu0, t0, r0 := cpuTicks(t, pid), time.Now(), received.Load()
	time.Sleep(10 * time.Second)
	el := time.Since(t0)
	loadCPU := cpuShare(cpuTicks(t, pid)-cpu0, el)
	row("| portal, 100 SSE viewers of a 1 MB/s log | RSS %s (peak %s) | CPU %.1f%% of a core; %.1f MB/s sent |", rss(t, pid), hwm(t, pid), loadCPU,
		float64(received.Load()-r0)/el.Seconds()/1e6)
	cancel()
	fmt.Println("\n| measure | figure | |\n|---|---|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
}

func procStatus(t *testing.T, pid int, key string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func rss(t *testing.T, pid int) string { return procStatus(t, pid, "VmRSS") }
func hwm(t *testing.T, pid int) string { return procStatus(t, pid, "VmHWM") }

// cpuTicks is utime+stime of pid, in clock ticks (100 a second on Linux).
func cpuTicks(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func cpuShare(ticks int64, d time.Duration) float64 {
	return float64(ticks) / 100 / d.Seconds() * 100
}
