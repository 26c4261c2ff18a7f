package tunnels

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func build(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
	return out
}

// TestNamed_tokenNeverOnACommandLine runs the shipped chain, provisioner
// exec-with-secret TUNNEL_TOKEN=CF_TUNNEL_TOKEN -- tunnels named, with
// the token in the boot's secret store: cloudflared gets it from its
// environment, the hostnames of /config are published, and no
// /proc/*/cmdline holds it.
func TestNamed_tokenNeverOnACommandLine(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the secret store is root's: run as root (scripts/test does)")
	}
	bin := t.TempDir()
	prov := build(t, bin, "provisioner", "github.com/gpudesk/runtime/services/provisioner/cmd/provisioner")
	tun := build(t, bin, "tunnels", "github.com/gpudesk/runtime/services/tunnels/cmd/tunnels")
	root := t.TempDir()
	token := base64.StdEncoding.EncodeToString([]byte(`{"a":"0123456789abcdef0123456789abcdef","t":"5d2a3f1e-8c4b-4e7a-9f10-2b3c4d5e6f70","s":"c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw=="}`))
	store := filepath.Join(root, "run/gpudesk/secrets")
	if err := os.MkdirAll(store, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "CF_TUNNEL_TOKEN"), []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	state, records := t.TempDir(), t.TempDir()
	metrics := "127.0.0.1:" + freeMetricsPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, prov, "exec-with-secret", "--root", root, "TUNNEL_TOKEN=CF_TUNNEL_TOKEN", "--",
		tun, "named", "--state-dir", state, "--metrics", metrics, "--cloudflared", cloudflaredStandin(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "STANDIN_DIR=" + records, "STANDIN_HOSTNAMES=comfy.example.com,desktop.example.com"}
	log := &syncBuf{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 20 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var st Status
	waitUntil(t, "named tunnel running", log, func() bool {
		var ok bool
		st, ok = readStatus(state, "named")
		return ok && st.State == StateRunning
	})
	if strings.Join(st.Hostnames, ",") != "comfy.example.com,desktop.example.com" || st.Metrics != metrics {
		t.Errorf("status %+v", st)
	}
	b, err := os.ReadFile(filepath.Join(records, "named-"+itoa(st.PID)+".json"))
	if err != nil || !bytes.Contains(b, []byte(`"token_from":"env"`)) || !bytes.Contains(b, []byte(`"no_autoupdate":true`)) || !bytes.Contains(b, []byte(`"protocol":"http2"`)) {
		t.Errorf("cloudflared's record: %s (%v)", b, err)
	}
	// Every process's command line, the whole chain's included.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	seen := 0
	for _, p := range procs {
		c, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		seen++
		if bytes.Contains(c, []byte(token)) || bytes.Contains(c, []byte("c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw")) {
			t.Errorf("%s holds the tunnel token: %q", p, c)
		}
	}
	if seen < 3 || !strings.Contains(string(mustRead(t, "/proc/"+itoa(st.PID)+"/cmdline")), "run") {
		t.Fatalf("read %d command lines; cloudflared's should be among them", seen)
	}
	if strings.Contains(log.String(), token) {
		t.Errorf("the token is in the log:\n%s", log)
	}
	cancel()
	cmd.Wait()
	if _, ok := readStatus(state, "named"); ok {
		t.Errorf("named.json left after the stop")
	}
	if alive(st.PID) {
		t.Errorf("cloudflared (pid %d) runs after the stop", st.PID)
	}
}

// TestNamed_badToken: a token cloudflared rejects (it exits) is a clear
// message in the log and the status, retried with backoff; an empty one
// is refused before cloudflared runs.
func TestNamed_badToken(t *testing.T) {
	state := t.TempDir()
	log := &syncBuf{}
	n := &Named{StateDir: state, Cloudflared: cloudflaredStandin(t), Metrics: "127.0.0.1:" + freeMetricsPort(t),
		Env: []string{"TUNNEL_TOKEN=bm90IGEgdG9rZW4="}, Log: log,
		Backoff:   Backoff{Min: 50 * time.Millisecond, Max: 100 * time.Millisecond, Healthy: time.Minute},
		Discovery: Discovery{Interval: 20 * time.Millisecond, Limit: deadline}, StopWait: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	waitUntil(t, "two rejected starts", log, func() bool {
		return strings.Count(log.String(), "named tunnel: cloudflared exited (exit status 1): Provided Tunnel token is not valid.; starting it again in") >= 2
	})
	st, ok := readStatus(state, "named")
	if !ok || st.State != StateBackoff || !strings.Contains(st.Error, "Provided Tunnel token is not valid.") {
		t.Errorf("status %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	n.Env = []string{"TUNNEL_TOKEN= "}
	if err := n.Run(context.Background()); err != ErrNoToken {
		t.Fatalf("empty token: %v", err)
	}
	if st, _ := readStatus(state, "named"); !strings.Contains(st.Error, "set CF_TUNNEL_TOKEN") {
		t.Errorf("empty token status %+v", st)
	}
}

func freeMetricsPort(t *testing.T) string {
	a, err := metricsAddr(0)
	if err != nil {
		t.Fatal(err)
	}
	return a[strings.LastIndexByte(a, ':')+1:]
}

func itoa(i int) string { return strconv.Itoa(i) }

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
