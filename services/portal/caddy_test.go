package portal_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func browserHeaders(cookie string) map[string]string {
	h := map[string]string{"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}
	if cookie != "" {
		h["Cookie"] = cookie
	}
	return h
}

// TestCaddy_Auth runs the security model end to end: a real Caddy in front
// of the portal and of a backend registered in /run/http_ports.
func TestCaddy_Auth(t *testing.T) {
	b := startBox(t, boxOpts{})
	be := startBackend(t)
	pub := freePort(t)
	caddyPID := b.caddy.Process.Pid

	written := time.Now()
	b.register(pub, fmt.Sprintf(`{"listen_port":"%d","metrics_port":"","proxy_port":"%d","service_name":"Backend"}`, be.port, pub))
	waitFor(t, "the new route", func() error {
		resp, err := http.Get(b.url(pub, "/"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	t.Logf("route live %s after the registration was written", time.Since(written).Round(time.Millisecond))
	if b.caddy.Process.Pid != caddyPID || b.caddy.ProcessState != nil {
		t.Fatal("caddy was restarted")
	}

	t.Run("unauthenticated browser goes to login", func(t *testing.T) {
		a := do(t, "GET", b.url(pub, "/app?x=1"), browserHeaders(""), nil)
		if a.code != http.StatusFound || a.hdr.Get("Location") != "/.gpudesk/login?next="+url.QueryEscape("/app?x=1") {
			t.Fatalf("got %d Location %q", a.code, a.hdr.Get("Location"))
		}
		a = do(t, "GET", b.url(b.publicPort, "/processes"), browserHeaders(""), nil)
		if a.code != http.StatusFound || a.hdr.Get("Location") != "/login?next=%2Fprocesses" {
			t.Fatalf("portal: got %d Location %q", a.code, a.hdr.Get("Location"))
		}
	})
	t.Run("unauthenticated API client gets 401", func(t *testing.T) {
		a := do(t, "GET", b.url(pub, "/api/x"), map[string]string{"Accept": "application/json"}, nil)
		if a.code != http.StatusUnauthorized || !strings.Contains(a.hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("got %d %v", a.code, a.hdr)
		}
		if strings.Contains(a.body, "backend") {
			t.Fatal("the backend answered")
		}
		if st, _ := websocket(t, pub, nil); !strings.HasPrefix(st, "401") {
			t.Fatalf("websocket without credentials: %s", st)
		}
	})
	t.Run("login cookie reaches the backend", func(t *testing.T) {
		// The login form is served on the backend's own port (so tunnels log in on their origin).
		a := do(t, "GET", b.url(pub, "/.gpudesk/login?next=%2Fapp"), browserHeaders(""), nil)
		if a.code != 200 || !strings.Contains(a.body, `name="password"`) {
			t.Fatalf("login page: %d %s", a.code, a.body)
		}
		cookie := b.login(pub, "/.gpudesk/login")
		a = do(t, "GET", b.url(pub, "/app"), browserHeaders(cookie), nil)
		if a.code != 200 || a.body != "backend /app user=admin" {
			t.Fatalf("with cookie: %d %q", a.code, a.body)
		}
		// One login covers every port of the host: the portal takes it too.
		a = do(t, "GET", b.url(b.publicPort, "/api/whoami"), map[string]string{"Cookie": cookie}, nil)
		if a.code != 200 || !strings.Contains(a.body, `"via": "session"`) {
			t.Fatalf("portal with the cookie: %d %s", a.code, a.body)
		}
	})
	t.Run("bearer reaches backend and websocket", func(t *testing.T) {
		a := do(t, "GET", b.url(pub, "/api/x"), map[string]string{"Authorization": "Bearer " + testToken}, nil)
		if a.code != 200 || !strings.HasPrefix(a.body, "backend /api/x") {
			t.Fatalf("bearer: %d %q", a.code, a.body)
		}
		st, msg := websocket(t, pub, map[string]string{"Authorization": "Bearer " + testToken})
		if !strings.HasPrefix(st, "101") || msg != "hello" {
			t.Fatalf("websocket: %s %q", st, msg)
		}
		a = do(t, "GET", b.url(pub, "/api/x"), map[string]string{"Authorization": "Bearer wrong-" + testToken}, nil)
		if a.code != http.StatusUnauthorized {
			t.Fatalf("wrong bearer: %d", a.code)
		}
	})
	t.Run("basic with password", func(t *testing.T) {
		req, _ := http.NewRequest("GET", b.url(pub, "/b"), nil)
		req.SetBasicAuth(testUser, testPassword)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("basic: %d", resp.StatusCode)
		}
	})
	t.Run("token in URL becomes a cookie and leaves the URL", func(t *testing.T) {
		a := do(t, "GET", b.url(pub, "/page?a=1&token="+testToken), browserHeaders(""), nil)
		if a.code != http.StatusFound || a.hdr.Get("Location") != "/page?a=1" {
			t.Fatalf("got %d Location %q", a.code, a.hdr.Get("Location"))
		}
		cookie := sessionCookie(t, a.hdr)
		a = do(t, "GET", b.url(pub, "/page?a=1"), browserHeaders(cookie), nil)
		if a.body != "backend /page?a=1 user=admin" {
			t.Fatalf("after token login: %d %q", a.code, a.body)
		}
	})
	t.Run("no open redirect", func(t *testing.T) {
		for _, next := range []string{"//evil.example/", "https://evil.example/", `/\evil.example`, "/%0d%0aSet-Cookie:x"} {
			form := url.Values{"user": {testUser}, "password": {testPassword}, "next": {next}}
			a := do(t, "POST", b.url(pub, "/.gpudesk/login"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form.Encode()))
			if loc := a.hdr.Get("Location"); a.code != http.StatusSeeOther || (loc != "/" && !strings.HasPrefix(loc, "/%")) {
				t.Errorf("next %q: %d Location %q", next, a.code, loc)
			}
		}
	})
	t.Run("cross-site POST refused", func(t *testing.T) {
		cookie := b.login(b.publicPort, "/login")
		a := do(t, "POST", b.url(b.publicPort, "/api/processes/x/start"), map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, nil)
		if a.code != http.StatusForbidden || !strings.Contains(a.body, "cross-origin") {
			t.Fatalf("cross-site: %d %s", a.code, a.body)
		}
		a = do(t, "POST", b.url(b.publicPort, "/api/processes/x/start"), map[string]string{"Cookie": cookie}, nil)
		if a.code != http.StatusForbidden || !strings.Contains(a.body, "CSRF") {
			t.Fatalf("without token: %d %s", a.code, a.body)
		}
		a = do(t, "POST", b.url(b.publicPort, "/logout"), map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"}, nil)
		if a.code != http.StatusForbidden {
			t.Fatalf("cross-site logout: %d", a.code)
		}
	})
	t.Run("backend down shows the starting page", func(t *testing.T) {
		down := freePort(t)
		pub2 := freePort(t)
		b.register(pub2, fmt.Sprintf(`{"listen_port":%d,"service_name":"Down"}`, down))
		hdr := map[string]string{"Authorization": "Bearer " + testToken}
		var a answer
		waitFor(t, "the route of the down service", func() error {
			resp, err := http.Get(b.url(pub2, "/"))
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		})
		a = do(t, "GET", b.url(pub2, "/"), hdr, nil)
		if a.code != http.StatusServiceUnavailable || a.hdr.Get("X-Gpudesk-Starting") != "1" {
			t.Fatalf("down: %d %v", a.code, a.hdr)
		}
		hdr["Cf-Ray"] = "8a1b2c3d4e5f-AMS"
		a = do(t, "GET", b.url(pub2, "/"), hdr, nil)
		if a.code != http.StatusOK || a.hdr.Get("X-Gpudesk-Starting") != "1" {
			t.Fatalf("down through cloudflare: %d %v", a.code, a.hdr)
		}
		b.unregister(pub2)
		waitFor(t, "the route to go", func() error {
			resp, err := http.Get(b.url(pub2, "/"))
			if err == nil {
				resp.Body.Close()
				return fmt.Errorf("still served")
			}
			return nil
		})
	})
	t.Run("caddy restarted gets the routes again", func(t *testing.T) {
		b.stopCaddy()
		b.startCaddy()
		waitFor(t, "the route after caddy's restart", func() error {
			resp, err := http.Get(b.url(pub, "/x"))
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusFound {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
	})
	t.Run("rotation ends sessions", func(t *testing.T) {
		cookie := b.login(pub, "/.gpudesk/login")
		out, err := exec.Command("go", "run", "../../services/portal/cmd/set-web-credentials", "--root", b.root, testUser, "a new password 42").CombinedOutput()
		if err != nil {
			t.Fatalf("set-web-credentials: %v\n%s", err, out)
		}
		a := do(t, "GET", b.url(pub, "/app"), browserHeaders(cookie), nil)
		if a.code != http.StatusFound {
			t.Fatalf("old cookie after rotation: %d %q", a.code, a.body)
		}
		// The token was kept.
		a = do(t, "GET", b.url(pub, "/app"), map[string]string{"Authorization": "Bearer " + testToken}, nil)
		if a.code != 200 {
			t.Fatalf("token after rotation: %d", a.code)
		}
		writeCreds(t, b.root, testUser, testPassword, testToken, true)
	})
	// Last: it spends this address's login budget.
	t.Run("wrong password is 401 then 429", func(t *testing.T) {
		form := url.Values{"user": {testUser}, "password": {"wrong"}, "next": {"/"}}.Encode()
		var codes []int
		for i := 0; i < 12; i++ {
			a := do(t, "POST", b.url(pub, "/.gpudesk/login"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form))
			codes = append(codes, a.code)
			if a.code == http.StatusTooManyRequests {
				if s, err := strconv.Atoi(a.hdr.Get("Retry-After")); err != nil || s < 1 {
					t.Fatalf("Retry-After %q", a.hdr.Get("Retry-After"))
				}
				break
			}
			if a.code != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d", i, a.code)
			}
		}
		if codes[len(codes)-1] != http.StatusTooManyRequests {
			t.Fatalf("never limited: %v", codes)
		}
		// The right password is refused too while limited (no bcrypt runs).
		good := url.Values{"user": {testUser}, "password": {testPassword}}.Encode()
		a := do(t, "POST", b.url(pub, "/.gpudesk/login"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(good))
		if a.code != http.StatusTooManyRequests {
			t.Fatalf("right password while limited: %d", a.code)
		}
	})
	_ = filepath.Join
}
