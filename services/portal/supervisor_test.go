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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/portal/caddy"
)

var (
	supervisordOnce sync.Once
	supervisordPath string
	supervisordErr  error
)

// buildSupervisord builds our supervisord once per test binary.
func buildSupervisord(t testing.TB) string {
	t.Helper()
	supervisordOnce.Do(func() {
		dir, err := os.MkdirTemp("", "portal-bin")
		if err != nil {
			supervisordErr = err
			return
		}
		supervisordPath = filepath.Join(dir, "supervisord")
		out, err := exec.Command("go", "build", "-o", supervisordPath, "github.com/gpudesk/runtime/supervisor/cmd/supervisord").CombinedOutput()
		if err != nil {
			supervisordErr = fmt.Errorf("building supervisord: %v\n%s", err, out)
		}
	})
	if supervisordErr != nil {
		t.Fatal(supervisordErr)
	}
	return supervisordPath
}

// daemon is a real supervisord with a few programs.
type daemon struct {
	t    testing.TB
	cmd  *exec.Cmd
	conf string
	sock string
	dir  string
}

func startDaemon(t testing.TB) *daemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "portal-sup")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &daemon{t: t, dir: dir, sock: filepath.Join(dir, "s.sock"), conf: filepath.Join(dir, "supervisord.conf")}
	conf := fmt.Sprintf(`[unix_http_server]
file=%[1]s/s.sock
chmod=0700

[supervisord]
nodaemon=true
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:talker]
command=/bin/sh -c 'i=0; while :; do i=$((i+1)); printf "\033[32mline %%%%s\033[0m <script>alert(1)</script>\n" $i; sleep 0.2; done'
stdout_logfile=%[1]s/talker.log
redirect_stderr=true
startsecs=0

[program:sleeper]
command=/bin/sleep 1000
stdout_logfile=%[1]s/sleeper.log
startsecs=0
stopwaitsecs=2

[program:caddy]
command=/bin/sleep 1000
stdout_logfile=%[1]s/caddy.log
startsecs=0
`, dir)
	os.WriteFile(d.conf, []byte(conf), 0o644)
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	cmd := exec.Command(buildSupervisord(d.t), "-c", d.conf)
	cmd.Dir = d.dir
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.cmd = cmd
}

func (d *daemon) stop() {
	if d.cmd != nil {
		d.cmd.Process.Signal(os.Interrupt)
		d.cmd.Wait()
		d.cmd = nil
	}
}

var bearer = map[string]string{"Authorization": "Bearer " + testToken}

type procList struct {
	Processes []struct {
		Name, State string
		PID         int
	}
	Error string
}

func (b *box) processes(t testing.TB) procList {
	t.Helper()
	a := do(t, "GET", b.url(b.publicPort, "/api/processes"), bearer, nil)
	var pl procList
	if err := json.Unmarshal([]byte(a.body), &pl); err != nil {
		t.Fatalf("%d %s: %v", a.code, a.body, err)
	}
	return pl
}

func (pl procList) state(name string) (string, int) {
	for _, p := range pl.Processes {
		if p.Name == name {
			return p.State, p.PID
		}
	}
	return "", 0
}

// sse reads server-sent events from u until match returns true; onOpen
// (when set) runs once the stream is open.
func sse(t testing.TB, u string, hdr map[string]string, onOpen func(), match func(data string) bool) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%s: %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if onOpen != nil {
		onOpen()
	}
	done := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && match(d) {
				done <- true
				return
			}
		}
		done <- false
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Fatalf("%s: stream ended before the awaited event", u)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: awaited event never came", u)
	}
}

func TestPortal_Supervisor(t *testing.T) {
	d := startDaemon(t)
	b := startBox(t, boxOpts{supervisorURL: "unix://" + d.sock})
	waitFor(t, "the programs", func() error {
		pl := b.processes(t)
		if s, _ := pl.state("sleeper"); s != "RUNNING" {
			return fmt.Errorf("sleeper %q (%s)", s, pl.Error)
		}
		return nil
	})

	t.Run("restart changes the pid", func(t *testing.T) {
		_, pid := b.processes(t).state("sleeper")
		a := do(t, "POST", b.url(b.publicPort, "/api/processes/sleeper/restart"), bearer, nil)
		if a.code != 200 {
			t.Fatalf("restart: %d %s", a.code, a.body)
		}
		waitFor(t, "the new pid", func() error {
			s, p := b.processes(t).state("sleeper")
			if s != "RUNNING" || p == pid {
				return fmt.Errorf("%s %d", s, p)
			}
			return nil
		})
	})
	t.Run("caddy cannot be stopped from the portal", func(t *testing.T) {
		a := do(t, "POST", b.url(b.publicPort, "/api/processes/caddy/stop"), bearer, nil)
		if a.code != http.StatusForbidden {
			t.Fatalf("stop caddy: %d %s", a.code, a.body)
		}
		if s, _ := b.processes(t).state("caddy"); s != "RUNNING" {
			t.Fatalf("caddy %s", s)
		}
	})
	t.Run("state changes arrive live", func(t *testing.T) {
		stop := func() {
			if a := do(t, "POST", b.url(b.publicPort, "/api/processes/sleeper/stop"), bearer, nil); a.code != 200 {
				t.Fatalf("stop: %d %s", a.code, a.body)
			}
		}
		sse(t, b.url(b.publicPort, "/api/events"), bearer, stop, func(data string) bool {
			var st procList
			json.Unmarshal([]byte(data), &st)
			s, _ := st.state("sleeper")
			return s == "STOPPED"
		})
	})
	t.Run("log stream is text", func(t *testing.T) {
		sse(t, b.url(b.publicPort, "/api/logs/talker/stream"), bearer, nil, func(data string) bool {
			var ms []struct {
				T string
				S [][2]string
			}
			json.Unmarshal([]byte(data), &ms)
			for _, m := range ms {
				if m.T == "line" && len(m.S) == 2 && strings.HasPrefix(m.S[0][0], "line ") && m.S[0][1] == "fg2" &&
					m.S[1][0] == " <script>alert(1)</script>" {
					return true
				}
			}
			return false
		})
		a := do(t, "GET", b.url(b.publicPort, "/api/logs/talker/download"), bearer, nil)
		if a.code != 200 || !strings.Contains(a.hdr.Get("Content-Disposition"), "talker.log") || !strings.Contains(a.body, "<script>") {
			t.Fatalf("download: %d %v", a.code, a.hdr)
		}
		if a := do(t, "GET", b.url(b.publicPort, "/api/logs/..%2F..%2Fetc%2Fpasswd"), bearer, nil); a.code != 404 {
			t.Fatalf("path as a log name: %d", a.code)
		}
	})
	t.Run("probes", func(t *testing.T) {
		a := do(t, "GET", b.url(b.publicPort, "/readyz"), nil, nil)
		if a.code != 200 || strings.TrimSpace(a.body) != "{\n  \"status\": \"ready\"\n}" {
			t.Fatalf("readyz: %d %s", a.code, a.body)
		}
	})
	t.Run("daemon gone and back", func(t *testing.T) {
		d.stop()
		waitFor(t, "the error", func() error {
			if pl := b.processes(t); !strings.Contains(pl.Error, "supervisord cannot be reached") {
				return fmt.Errorf("error %q", pl.Error)
			}
			return nil
		})
		page := do(t, "GET", b.url(b.publicPort, "/processes"), map[string]string{"Cookie": b.login(b.publicPort, "/login")}, nil)
		if !strings.Contains(page.body, "supervisord cannot be reached") {
			t.Fatalf("page does not say so:\n%s", page.body)
		}
		if a := do(t, "GET", b.url(b.publicPort, "/readyz"), nil, nil); a.code != 503 {
			t.Fatalf("readyz with the daemon gone: %d", a.code)
		}
		d.start()
		waitFor(t, "recovery", func() error {
			pl := b.processes(t)
			if s, _ := pl.state("talker"); pl.Error != "" || s != "RUNNING" {
				return fmt.Errorf("%q %q", pl.Error, s)
			}
			return nil
		})
	})
}

// TestPortal_HostileRegistrations: what a member of the ports folder's
// group writes never reaches the page as HTML nor Caddy as configuration,
// and never breaks the other routes.
func TestPortal_HostileRegistrations(t *testing.T) {
	b := startBox(t, boxOpts{})
	be := startBackend(t)
	good := freePort(t)
	b.register(good, fmt.Sprintf(`{"listen_port":"%d","service_name":"Good"}`, be.port))
	evil := freePort(t)
	b.register(evil, fmt.Sprintf(`{"listen_port":"%d","service_name":"<img src=x onerror=alert(1)>\"'","service_url":"https://ok.example/"}`, be.port))
	b.register(freePort(t), `{"listen_port":"1","service_url":"javascript:alert(1)"}`)
	b.register(freePort(t), `{"listen_port":"99999"}`)
	b.register(freePort(t), `{"listen_port":"80}, {\"listen\":[\":1\"]"}`)
	os.WriteFile(filepath.Join(b.root, "run/http_ports/0"), []byte(`{"listen_port":"81"}`), 0o644)
	os.WriteFile(filepath.Join(b.root, "run/http_ports/"+fmt.Sprint(freePort(t))), []byte(`{"listen_port":"8`), 0o644) // being written

	waitFor(t, "the good route", func() error {
		req, _ := http.NewRequest("GET", b.url(good, "/x"), nil)
		req.Header.Set("Authorization", bearer["Authorization"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "backend /x user=admin" {
			return fmt.Errorf("%d %q", resp.StatusCode, body)
		}
		return nil
	})
	cookie := b.login(b.publicPort, "/login")
	page := do(t, "GET", b.url(b.publicPort, "/"), map[string]string{"Cookie": cookie}, nil)
	if page.code != 200 {
		t.Fatalf("page: %d", page.code)
	}
	if strings.Contains(page.body, "<img src=x") || strings.Contains(page.body, "javascript:") {
		t.Fatalf("injected:\n%s", page.body)
	}
	for _, want := range []string{"&lt;img src=x onerror=alert(1)&gt;", "scheme &#34;javascript&#34; not accepted", "port 99999 out of range", "file name &#34;0&#34;", "not a JSON object"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	out, err := caddy.NewAdmin(b.adminSock).Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps struct {
			HTTP struct{ Servers map[string]any }
		}
	}
	json.Unmarshal(out, &cfg)
	if len(cfg.Apps.HTTP.Servers) != 3 { // the portal, Good and the evil name (its ports are fine)
		t.Fatalf("caddy servers: %s", out)
	}
}
