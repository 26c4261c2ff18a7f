package tunnels

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Quick runs one quick tunnel per registration in PortsDir that asks for
// one (every registration unless it says "quick_tunnel": "false"), keyed
// by the registration's public port and pointed at that port, where Caddy
// serves the service behind the login. A tunnel starts when its
// registration appears and stops when it goes.
type Quick struct {
	PortsDir    string // /run/http_ports
	StateDir    string // /run/tunnels
	Cloudflared string // the cloudflared binary
	HTTPS       bool   // Caddy serves TLS (WEB_ENABLE_HTTPS): https://localhost:PORT, certificate not checked
	Env         []string
	Log         io.Writer
	Backoff     Backoff
	Discovery   Discovery
	StopWait    time.Duration
	Settle      time.Duration // wait for a burst of registry changes to end before acting
}

type running struct {
	spec   child
	cancel context.CancelFunc
	done   chan struct{}
}

// Run manages the tunnels until ctx ends, then stops them all.
func (q *Quick) Run(ctx context.Context) error {
	log := &lineLog{w: q.Log}
	if err := os.MkdirAll(q.StateDir, 0o755); err != nil {
		return fmt.Errorf("making %s: %w", q.StateDir, err)
	}
	removeStale(q.StateDir)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", q.PortsDir, err)
	}
	defer w.Close()
	if err := w.Add(q.PortsDir); err != nil {
		return fmt.Errorf("watching the service registrations in %s: %w", q.PortsDir, err)
	}
	sup := &supervisor{cloudflared: q.Cloudflared, pub: publisher{q.StateDir}, log: log, backoff: q.Backoff, stopWait: q.StopWait}
	tunnels := map[int]*running{}
	reported := map[string]string{} // file → the error last logged for it
	var wg sync.WaitGroup
	stop := func(port int) {
		r := tunnels[port]
		r.cancel()
		<-r.done
		delete(tunnels, port)
	}
	defer func() {
		for port := range tunnels {
			tunnels[port].cancel()
		}
		wg.Wait()
	}()
	apply := func() {
		want := q.scan(log, reported)
		for port, r := range tunnels {
			if w, ok := want[port]; !ok {
				log.printf("quick tunnel %d: the registration is gone; stopping it", port)
				stop(port)
			} else if !sameSpec(w, r.spec) {
				log.printf("quick tunnel %d: the registration changed; starting it again", port)
				stop(port)
			}
		}
		for port, c := range want {
			if _, ok := tunnels[port]; ok {
				continue
			}
			cctx, cancel := context.WithCancel(ctx)
			r := &running{spec: c, cancel: cancel, done: make(chan struct{})}
			tunnels[port] = r
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(r.done)
				sup.run(cctx, c)
			}()
		}
	}
	apply()
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return fmt.Errorf("watching %s: the watcher stopped", q.PortsDir)
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			settle = time.After(q.Settle)
		case err, ok := <-w.Errors:
			if !ok {
				return fmt.Errorf("watching %s: the watcher stopped", q.PortsDir)
			}
			// An overflow loses events: read everything again.
			log.printf("watching %s: %v; reading every registration again", q.PortsDir, err)
			settle = time.After(q.Settle)
		case <-settle:
			settle = nil
			apply()
		}
	}
}

// scan reads every registration and returns the tunnels they ask for. A
// registration that does not parse is logged once (until it changes) and
// asks for nothing; a half-written file is read again when it is done.
func (q *Quick) scan(log *lineLog, reported map[string]string) map[int]child {
	want := map[int]child{}
	entries, err := os.ReadDir(q.PortsDir)
	if err != nil {
		log.printf("reading %s: %v", q.PortsDir, err)
		return want
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, "~") || !e.Type().IsRegular() {
			continue
		}
		seen[name] = true
		b, err := readSmall(filepath.Join(q.PortsDir, name))
		var r Registration
		if err == nil {
			r, err = ParseRegistration(name, b)
		}
		if err != nil {
			if reported[name] != err.Error() {
				log.printf("%v; no quick tunnel for it", err)
				reported[name] = err.Error()
			}
			continue
		}
		delete(reported, name)
		if r.QuickTunnel {
			want[r.Port] = q.child(r)
		}
	}
	for name := range reported {
		if !seen[name] {
			delete(reported, name)
		}
	}
	return want
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxRegistration+1))
}

func (q *Quick) child(r Registration) child {
	scheme := "http"
	if q.HTTPS {
		scheme = "https"
	}
	target := fmt.Sprintf("%s://localhost:%d", scheme, r.Port)
	https := q.HTTPS
	return child{
		name:        strconv.Itoa(r.Port),
		label:       fmt.Sprintf("quick tunnel %d", r.Port),
		metricsPort: r.MetricsPort,
		args: func(metrics string) []string {
			a := []string{"tunnel", "--no-autoupdate", "--metrics", metrics}
			if https {
				// Caddy's certificate is for the container, not localhost.
				a = append(a, "--no-tls-verify")
			}
			return append(a, "--url", target)
		},
		env:      quickEnv(q.Env),
		status:   Status{Kind: "quick", Port: r.Port, ServiceName: r.ServiceName, Target: target},
		discover: q.Discovery.quickURL,
	}
}

func sameSpec(a, b child) bool {
	x, y := a.status, b.status
	return a.metricsPort == b.metricsPort && x.Port == y.Port && x.ServiceName == y.ServiceName && x.Target == y.Target
}

// quickEnv is the environment of a quick tunnel: no tunnel token (with
// one, `cloudflared tunnel` would run the named tunnel instead), and
// HTTP/2 to Cloudflare unless TUNNEL_TRANSPORT_PROTOCOL says otherwise
// (ai-dock's default: QUIC is often blocked on cloud networks).
func quickEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "TUNNEL_TOKEN=") || strings.HasPrefix(kv, "TUNNEL_TOKEN_FILE=") {
			continue
		}
		out = append(out, kv)
	}
	return withProtocol(out)
}

func withProtocol(env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "TUNNEL_TRANSPORT_PROTOCOL=") && len(kv) > len("TUNNEL_TRANSPORT_PROTOCOL=") {
			return env
		}
	}
	return append(env, "TUNNEL_TRANSPORT_PROTOCOL=http2")
}

// removeStale removes the status files of quick tunnels a previous run
// left (killed before it could): no cloudflared of theirs runs now.
func removeStale(dir string) {
	m, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, p := range m {
		if _, err := parsePort(strings.TrimSuffix(filepath.Base(p), ".json")); err == nil {
			os.Remove(p)
		}
	}
}
