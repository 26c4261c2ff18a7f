package portal_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
)

// direct asks the portal itself (127.0.0.1:11111 in a container), for
// when Caddy is down.
func (b *box) direct(path string) answer {
	b.t.Helper()
	return do(b.t, "GET", "http://"+b.portalAddr+path, bearer, nil)
}

func TestPortal_CaddyDownIsReportedAndRetried(t *testing.T) {
	b := startBox(t, boxOpts{})
	b.stopCaddy()
	waitFor(t, "the report", func() error {
		a := b.direct("/api/caddy")
		if !strings.Contains(a.body, `"reachable": false`) || !strings.Contains(a.body, "caddy admin API") {
			return fmt.Errorf("%s", a.body)
		}
		return nil
	})
	page := do(t, "GET", "http://"+b.portalAddr+"/", map[string]string{"Cookie": b.loginDirect()}, nil)
	if !strings.Contains(page.body, "Caddy: caddy admin API") {
		t.Fatalf("page does not say so:\n%s", page.body)
	}
	b.startCaddy()
	waitFor(t, "the retry", func() error {
		a := b.direct("/api/caddy")
		if !strings.Contains(a.body, `"applied": true`) {
			return fmt.Errorf("%s", a.body)
		}
		return nil
	})
	if !strings.Contains(b.log.String(), "caddy: configuration applied") {
		t.Error("recovery not logged")
	}
}

func (b *box) loginDirect() string {
	b.t.Helper()
	a := do(b.t, "POST", "http://"+b.portalAddr+"/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader("user="+testUser+"&password="+strings.ReplaceAll(testPassword, " ", "+")))
	return sessionCookie(b.t, a.hdr)
}

// A port Caddy cannot listen on takes down only its own site.
func TestPortal_RefusedSiteLeavesTheOthers(t *testing.T) {
	b := startBox(t, boxOpts{})
	be := startBackend(t)
	busy, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	good := freePort(t)
	b.register(good, fmt.Sprintf(`{"listen_port":"%d","service_name":"Good"}`, be.port))
	b.register(busyPort, fmt.Sprintf(`{"listen_port":"%d","service_name":"Busy"}`, be.port))
	waitFor(t, "the refusal", func() error {
		a := b.direct("/api/services")
		if !strings.Contains(a.body, "not served: caddy refused") {
			return fmt.Errorf("%s", a.body)
		}
		return nil
	})
	a := do(t, "GET", b.url(good, "/ok"), bearer, nil)
	if a.body != "backend /ok user=admin" {
		t.Fatalf("good site: %d %q", a.code, a.body)
	}
}

func TestPortal_StartupSystemGPUs(t *testing.T) {
	b := startBox(t, boxOpts{})
	code := 3
	st := bootstatus.Status{Version: 1, Phase: bootstatus.PhaseSupervisord, Started: time.Now(), DurationMS: 1234,
		Steps: []bootstatus.Step{{Name: "user", DurationMS: 12}, {Name: "web credentials", DurationMS: 80}},
		Provisioning: &bootstatus.Provisioning{State: "failed", ExitCode: &code, Error: "exit status 3",
			LastLines: []string{"downloading model", "<b>error</b>: no space left"}}}
	if err := bootstatus.Write(filepath.Join(b.root, bootstatus.File), st); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the start-up state", func() error {
		a := do(t, "GET", b.url(b.publicPort, "/api/startup"), bearer, nil)
		var s struct{ Phase, Summary string }
		json.Unmarshal([]byte(a.body), &s)
		if s.Phase != "failed" || s.Summary != "Provisioning failed: exit status 3" {
			return fmt.Errorf("%s", a.body)
		}
		return nil
	})
	cookie := b.login(b.publicPort, "/login")
	page := do(t, "GET", b.url(b.publicPort, "/processes"), map[string]string{"Cookie": cookie}, nil)
	for _, want := range []string{"Provisioning failed: exit status 3", "web credentials", "&lt;b&gt;error&lt;/b&gt;: no space left"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	a := do(t, "GET", b.url(b.publicPort, "/api/system"), bearer, nil)
	var sys struct {
		System struct {
			CPUs     float64
			MemTotal int64 `json:"memory_total"`
			Disks    []struct{ Path string }
		}
	}
	if err := json.Unmarshal([]byte(a.body), &sys); err != nil || sys.System.CPUs <= 0 || len(sys.System.Disks) == 0 {
		t.Fatalf("system: %d %s", a.code, a.body)
	}
	a = do(t, "GET", b.url(b.publicPort, "/api/gpus"), bearer, nil)
	var g struct {
		Report *struct {
			XPUTarget string `json:"xpu_target"`
		}
	}
	if err := json.Unmarshal([]byte(a.body), &g); err != nil || g.Report == nil || g.Report.XPUTarget == "" {
		t.Fatalf("gpus: %d %s", a.code, a.body)
	}
	if a := do(t, "GET", b.url(b.publicPort, "/system"), map[string]string{"Cookie": cookie}, nil); a.code != 200 || !strings.Contains(a.body, "GPUs") {
		t.Fatalf("system page: %d", a.code)
	}
}

func TestPortal_AuthDisabledWarns(t *testing.T) {
	b := startBox(t, boxOpts{})
	be := startBackend(t)
	writeCreds(t, b.root, testUser, testPassword, testToken, false)
	pub := freePort(t)
	b.register(pub, fmt.Sprintf(`{"listen_port":"%d"}`, be.port))
	waitFor(t, "the open route", func() error {
		resp, err := http.Get(b.url(pub, "/x"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	a := do(t, "GET", b.url(b.publicPort, "/"), browserHeaders(""), nil)
	if a.code != 200 || !strings.Contains(a.body, "Authentication is disabled (WEB_ENABLE_AUTH=false)") {
		t.Fatalf("page: %d", a.code)
	}
	// Still no cross-site POST.
	a = do(t, "POST", b.url(b.publicPort, "/api/processes/x/stop"), map[string]string{"Sec-Fetch-Site": "cross-site"}, nil)
	if a.code != http.StatusForbidden {
		t.Fatalf("cross-site POST with auth off: %d", a.code)
	}
	os.Remove(filepath.Join(b.root, "var/lib/gpudesk/web-credentials.json"))
	// No credentials file: closed, not open.
	waitFor(t, "closed without credentials", func() error {
		resp, err := http.Get(b.url(pub, "/x"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}
