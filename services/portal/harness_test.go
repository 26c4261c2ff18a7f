package portal_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/portal"
	"github.com/gpudesk/runtime/services/provisioner/webcreds"
)

// Credentials of the test box.
const (
	testUser     = "admin"
	testPassword = "correct horse battery"
	testToken    = "tok-0123456789abcdefghijklmnopqrstuv"
)

// freePort returns a TCP port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitFor retries cond until it holds or a generous deadline passes.
func waitFor(t testing.TB, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: %v", what, err)
}

type logWriter struct {
	t  testing.TB
	mu sync.Mutex
	b  strings.Builder
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// box is a portal behind a real Caddy, with a root of its own.
type box struct {
	t          testing.TB
	root       string
	portalAddr string
	publicPort int
	adminSock  string
	caddy      *exec.Cmd
	caddyCfg   string
	caddyEnv   []string
	stop       func()
	log        *logWriter
	supURL     string
	scheme     string // "https" with WEB_ENABLE_HTTPS
}

// insecure trusts any certificate (the test's own self-signed one).
var insecure = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type boxOpts struct {
	supervisorURL string
	env           map[string]string
	tlsCert       string // WEB_ENABLE_HTTPS with this pair
	tlsKey        string
}

func writeCreds(t testing.TB, root, user, password, token string, enabled bool) {
	t.Helper()
	if _, err := webcreds.Ensure(filepath.Join(root, webcreds.File), webcreds.Input{
		User: user, Password: password, Token: token, AuthEnabled: enabled}); err != nil {
		t.Fatal(err)
	}
}

func startBox(t testing.TB, o boxOpts) *box {
	t.Helper()
	if _, err := exec.LookPath("caddy"); err != nil {
		t.Skip("caddy is not installed (scripts/test installs Debian's caddy)")
	}
	// A short folder: unix socket paths are limited to 108 bytes.
	tmp, err := os.MkdirTemp("", "portal")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	b := &box{t: t, root: filepath.Join(tmp, "root"), adminSock: filepath.Join(tmp, "caddy.sock"), log: &logWriter{t: t}}
	os.MkdirAll(filepath.Join(b.root, "run/http_ports"), 0o755)
	os.MkdirAll(filepath.Join(b.root, "var/log"), 0o755)
	writeCreds(t, b.root, testUser, testPassword, testToken, true)

	b.caddyCfg = filepath.Join(tmp, "caddy-base.json")
	base, _ := json.Marshal(map[string]any{"admin": map[string]any{"listen": "unix/" + b.adminSock}})
	os.WriteFile(b.caddyCfg, base, 0o644)
	b.caddyEnv = append(os.Environ(), "HOME="+tmp, "XDG_CONFIG_HOME="+tmp+"/xdg-config", "XDG_DATA_HOME="+tmp+"/xdg-data")
	b.startCaddy()

	b.publicPort = freePort(t)
	b.portalAddr = "127.0.0.1:" + strconv.Itoa(freePort(t))
	b.supURL = o.supervisorURL
	if b.supURL == "" {
		b.supURL = "unix://" + filepath.Join(tmp, "no-supervisor.sock")
	}
	env := map[string]string{}
	for k, v := range o.env {
		env[k] = v
	}
	cfg := portal.Config{
		Listen: b.portalAddr, PublicPort: b.publicPort, Root: b.root, SupervisorURL: b.supURL,
		CaddyAdmin: b.adminSock, Logtail: "/var/log/logtail.log", Lifetime: time.Hour,
		Protected: []string{"portal", "caddy"}, Workspace: tmp, CheckCaddy: 200 * time.Millisecond,
		LookupEnv:   func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		LogFlushAft: 200 * time.Millisecond,
		// No failed-login token comes back during a test, however slow
		// bcrypt runs under -race.
		LoginLimitEvery: time.Hour,
		HTTPS:           o.tlsCert != "", TLSCert: o.tlsCert, TLSKey: o.tlsKey,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- portal.Run(ctx, cfg, b.log) }()
	b.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("portal: %v", err)
		}
	}
	t.Cleanup(func() {
		b.stop()
		b.stopCaddy()
	})
	if o.tlsCert != "" {
		b.scheme = "https"
	}
	waitFor(t, "the portal behind caddy", func() error {
		resp, err := insecure.Get(b.url(b.publicPort, "/healthz"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	return b
}

func (b *box) startCaddy() {
	b.t.Helper()
	cmd := exec.Command("caddy", "run", "--config", b.caddyCfg)
	cmd.Env = b.caddyEnv
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.caddy = cmd
}

func (b *box) stopCaddy() {
	if b.caddy != nil && b.caddy.Process != nil {
		b.caddy.Process.Kill()
		b.caddy.Wait()
		b.caddy = nil
	}
}

func (b *box) url(port int, path string) string {
	scheme := b.scheme
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://127.0.0.1:" + strconv.Itoa(port) + path
}

// register writes a registration for a backend.
func (b *box) register(public int, content string) {
	b.t.Helper()
	dir := filepath.Join(b.root, "run/http_ports")
	tmp := filepath.Join(dir, ".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, strconv.Itoa(public))); err != nil {
		b.t.Fatal(err)
	}
}

func (b *box) unregister(public int) {
	os.Remove(filepath.Join(b.root, "run/http_ports", strconv.Itoa(public)))
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
	Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
}

type answer struct {
	code int
	hdr  http.Header
	body string
}

func do(t testing.TB, method, u string, hdr map[string]string, body io.Reader) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	bb, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(bb)}
}

// login posts the form on port and returns the session cookie.
func (b *box) login(port int, path string) string {
	b.t.Helper()
	form := url.Values{"user": {testUser}, "password": {testPassword}, "next": {"/"}}
	a := do(b.t, "POST", b.url(port, path), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form.Encode()))
	if a.code != http.StatusSeeOther {
		b.t.Fatalf("login: status %d, want 303; body %s", a.code, a.body)
	}
	return sessionCookie(b.t, a.hdr)
}

func sessionCookie(t testing.TB, h http.Header) string {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "gpudesk_session" {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Domain != "" {
				t.Errorf("cookie attributes: HttpOnly %v SameSite %v Domain %q; want HttpOnly, Lax, host-only", c.HttpOnly, c.SameSite, c.Domain)
			}
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("no session cookie in %v", h)
	return ""
}

// backend is a small HTTP and websocket server.
type backend struct {
	port int
	srv  *http.Server
}

func startBackend(t testing.TB) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	be := &backend{port: ln.Addr().(*net.TCPAddr).Port}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			websocketHello(w, r)
			return
		}
		fmt.Fprintf(w, "backend %s user=%s", r.URL.RequestURI(), r.Header.Get("Remote-User"))
	})
	be.srv = &http.Server{Handler: mux}
	go be.srv.Serve(ln)
	t.Cleanup(func() { be.srv.Close() })
	return be
}

// websocketHello answers the handshake and sends one text frame "hello".
func websocketHello(w http.ResponseWriter, r *http.Request) {
	h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(h[:]))
	rw.Write([]byte{0x81, 5, 'h', 'e', 'l', 'l', 'o'})
	rw.Flush()
	time.Sleep(100 * time.Millisecond)
}

// websocket opens a websocket through Caddy and returns the status line
// and the first frame's text.
func websocket(t testing.TB, port int, hdr map[string]string) (status, msg string) {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", port)
	for k, v := range hdr {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	c.Write([]byte(req.String()))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("websocket handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return resp.Status, ""
	}
	head := make([]byte, 2)
	if _, err := io.ReadFull(br, head); err != nil {
		t.Fatalf("websocket frame: %v", err)
	}
	body := make([]byte, head[1]&0x7f)
	io.ReadFull(br, body)
	return resp.Status, string(body)
}
