package auth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/webcreds"
)

const (
	user     = "admin"
	password = "correct horse battery"
	token    = "tok-0123456789abcdefghijklmnopqrstuv"
)

func newAuth(t testing.TB, now func() time.Time) (*Auth, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	if _, err := webcreds.Ensure(path, webcreds.Input{User: user, Password: password, Token: token, AuthEnabled: true}); err != nil {
		t.Fatal(err)
	}
	key, err := LoadKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{CredsFile: path, Key: key, Now: now}), path
}

func forwarded(uri string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest("GET", ForwardPath, nil)
	r.RemoteAddr = "127.0.0.1:5000"
	r.Header.Set("X-Forwarded-Method", "GET")
	r.Header.Set("X-Forwarded-Uri", uri)
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

func TestSession_RoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a, _ := newAuth(t, func() time.Time { return now })
	req := httptest.NewRequest("POST", "/login", nil)
	c, _, ok := a.Login(req, user, password)
	if !ok {
		t.Fatal("login failed")
	}
	if strings.Contains(c.Value, password) || strings.Contains(c.Value, token) {
		t.Fatal("cookie holds a secret")
	}
	check := func(v string) Who {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: v})
		return a.Check(r)
	}
	if w := check(c.Value); !w.OK || w.Via != "session" {
		t.Fatalf("fresh cookie: %+v", w)
	}
	// Tampering with any part fails.
	parts := strings.Split(c.Value, ".")
	for i := range parts {
		p := append([]string(nil), parts...)
		p[i] = p[i][:len(p[i])-1] + "x"
		if check(strings.Join(p, ".")).OK {
			t.Errorf("tampered part %d accepted", i)
		}
	}
	now = now.Add(DefaultLifetime)
	if check(c.Value).OK {
		t.Fatal("expired cookie accepted")
	}
}

func TestSession_RotationAndLogout(t *testing.T) {
	a, path := newAuth(t, nil)
	c, _, _ := a.Login(httptest.NewRequest("POST", "/login", nil), user, password)
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	who := a.Check(r)
	if !who.OK {
		t.Fatal("not logged in")
	}
	if _, err := a.Logout(r, who); err != nil {
		t.Fatal(err)
	}
	if a.Check(r).OK {
		t.Fatal("session alive after logout")
	}
	c, _, _ = a.Login(httptest.NewRequest("POST", "/login", nil), user, password)
	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	if _, err := webcreds.Ensure(path, webcreds.Input{User: user, Password: "another password", AuthEnabled: true}); err != nil {
		t.Fatal(err)
	}
	if a.Check(r).OK {
		t.Fatal("session alive after the password changed")
	}
}

func TestForward(t *testing.T) {
	a, _ := newAuth(t, nil)
	for _, tc := range []struct {
		name     string
		uri      string
		hdr      map[string]string
		code     int
		location string
	}{
		{"browser", "/app?x=1", map[string]string{"Accept": "text/html"}, 302, LoginPath + "?next=%2Fapp%3Fx%3D1"},
		{"api", "/api", map[string]string{"Accept": "application/json"}, 401, ""},
		{"websocket from a page", "/ws", map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "websocket"}, 401, ""},
		{"bearer", "/api", map[string]string{"Authorization": "Bearer " + token}, 200, ""},
		{"bearer lower case", "/api", map[string]string{"Authorization": "bearer " + token}, 200, ""},
		{"wrong bearer", "/api", map[string]string{"Authorization": "Bearer x" + token}, 401, ""},
		{"token query", "/p?token=" + token + "&a=b", nil, 302, "/p?a=b"},
		{"wrong token query", "/p?token=nope", map[string]string{"Accept": "text/html"}, 302, LoginPath + "?next=%2Fp"},
		{"scheme-relative uri", "//evil.example/x", map[string]string{"Accept": "text/html"}, 302, LoginPath + "?next=%2F"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			a.Forward(w, forwarded(tc.uri, tc.hdr))
			if w.Code != tc.code || w.Header().Get("Location") != tc.location {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), tc.code, tc.location)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/a?b=c":              "/a?b=c",
		"":                    "/",
		"//evil":              "/",
		`/\evil`:              "/",
		"https://evil/":       "/",
		"javascript:alert(1)": "/",
		"/a\r\nSet-Cookie: x": "/",
		"relative":            "/",
	} {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLimiter(func() time.Time { return now })
	for i := 0; i < PerAddressBurst; i++ {
		if w := l.Take("a"); w != 0 {
			t.Fatalf("attempt %d limited", i)
		}
	}
	w := l.Take("a")
	if w <= 0 || w > PerAddressEvery {
		t.Fatalf("after the burst: wait %s", w)
	}
	if l.Take("b") != 0 {
		t.Fatal("another address limited")
	}
	now = now.Add(PerAddressEvery)
	if l.Take("a") != 0 {
		t.Fatal("no token after the refill")
	}
	// Globally: many addresses together hit the global bucket.
	g := NewLimiter(func() time.Time { return now })
	limited := false
	for i := 0; i < GlobalBurst+1; i++ {
		if g.Take(string(rune('A'+i%26))+string(rune('a'+i/26))) > 0 {
			limited = true
		}
	}
	if !limited {
		t.Fatal("global limit never reached")
	}
}

// BenchmarkForward is Caddy's per-request check with a session cookie
// (the target is a median ≤ 50 µs; no bcrypt on this path).
func BenchmarkForward(b *testing.B) {
	a, _ := newAuth(b, nil)
	c, _, _ := a.Login(httptest.NewRequest("POST", "/login", nil), user, password)
	r := forwarded("/app/x?y=1", map[string]string{"Accept": "text/html"})
	r.AddCookie(c)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		a.Forward(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkForwardBearer is the same with a bearer token.
func BenchmarkForwardBearer(b *testing.B) {
	a, _ := newAuth(b, nil)
	r := forwarded("/api", map[string]string{"Authorization": "Bearer " + token})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		a.Forward(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func FuzzDecodeSession(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	gen := []byte("gen")
	now := time.Unix(1_800_000_000, 0)
	good := encodeSession(key, gen, session{ID: "AAAAAAAAAAAAAAAAAAAAAA", Expiry: now.Add(time.Hour)})
	f.Add(good)
	f.Add("v1..1.")
	f.Fuzz(func(t *testing.T, v string) {
		s, ok := decodeSession(key, gen, v, now)
		if ok && (v != good || s.ID != "AAAAAAAAAAAAAAAAAAAAAA") {
			t.Fatalf("forged cookie accepted: %q", v)
		}
	})
}

// Ten thousand wrong passwords cost at most a burst of bcrypt checks, from
// one address or from ten thousand.
func TestLogin_FloodIsBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a, _ := newAuth(t, func() time.Time { return now })
	for i := 0; i < 10000; i++ {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = "198.51.100.1:1234"
		if _, _, ok := a.Login(r, user, "wrong"); ok {
			t.Fatal("wrong password accepted")
		}
	}
	if n := a.PasswordChecks(); n != PerAddressBurst {
		t.Fatalf("one address: %d bcrypt checks, want %d", n, PerAddressBurst)
	}
	b, _ := newAuth(t, func() time.Time { return now })
	for i := 0; i < 10000; i++ {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
		b.Login(r, user, "wrong")
	}
	if n := b.PasswordChecks(); n != GlobalBurst {
		t.Fatalf("many addresses: %d bcrypt checks, want %d", n, GlobalBurst)
	}
	// The right password still works once the limit has passed.
	now = now.Add(time.Minute)
	if _, _, ok := b.Login(httptest.NewRequest("POST", "/login", nil), user, password); !ok {
		t.Fatal("right password refused after the flood")
	}
}

// A logout outlives the portal: a new Auth on the same files (the portal
// restarted) still refuses the logged-out cookie and accepts another
// session's.
func TestSession_LogoutSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	credsPath := filepath.Join(dir, "creds.json")
	if _, err := webcreds.Ensure(credsPath, webcreds.Input{User: user, Password: password, AuthEnabled: true}); err != nil {
		t.Fatal(err)
	}
	key, err := LoadKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{CredsFile: credsPath, Key: key, LogoutsFile: filepath.Join(dir, "sub", "logouts.json")}
	a := New(cfg)
	if err := a.LoadLogouts(); err != nil {
		t.Fatal(err)
	}
	cookie := func(a *Auth) *http.Cookie {
		c, _, ok := a.Login(httptest.NewRequest("POST", "/login", nil), user, password)
		if !ok || c == nil {
			t.Fatal("login refused")
		}
		return c
	}
	out, kept := cookie(a), cookie(a)
	req := func(c *http.Cookie) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		return r
	}
	if _, err := a.Logout(req(out), a.Check(req(out))); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cfg.LogoutsFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("logouts file mode %v, want 0600", fi.Mode().Perm())
	}

	b := New(cfg)
	if err := b.LoadLogouts(); err != nil {
		t.Fatal(err)
	}
	if b.Check(req(out)).OK {
		t.Error("logged-out session accepted after a restart")
	}
	if !b.Check(req(kept)).OK {
		t.Error("other session refused after a restart")
	}

	// A broken file is named, and the portal goes on.
	if err := os.WriteFile(cfg.LogoutsFile, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := New(cfg)
	if err := c.LoadLogouts(); err == nil || !strings.Contains(err.Error(), cfg.LogoutsFile) {
		t.Errorf("broken file: error %v, want one naming %s", err, cfg.LogoutsFile)
	}
	if !c.Check(req(kept)).OK {
		t.Error("session refused after a broken logouts file")
	}
}

// Expired logouts are dropped when the list is read again.
func TestLogouts_ExpiredDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.json")
	now := time.Unix(1_000_000, 0)
	if err := saveLogouts(path, map[string]time.Time{"old": now.Add(-time.Second), "new": now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	m, err := loadLogouts(path, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m["old"]; ok || len(m) != 1 {
		t.Errorf("loaded %v, want only \"new\"", m)
	}
}
