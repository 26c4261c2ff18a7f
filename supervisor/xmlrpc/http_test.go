package xmlrpc

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// endless is a methodCall body that never ends: a valid head, then the
// same <param> over and over. It counts the bytes read from it.
type endless struct {
	head, unit string
	pos        int64
	n          atomic.Int64 // bytes handed out
	max        int64        // 0: endless; else io.EOF after max bytes
}

func (e *endless) Read(p []byte) (int, error) {
	if e.max > 0 && e.n.Load() >= e.max {
		return 0, io.EOF
	}
	if e.max > 0 && int64(len(p)) > e.max-e.n.Load() {
		p = p[:e.max-e.n.Load()]
	}
	w := 0
	for w < len(p) {
		var src string
		off := e.pos
		if off < int64(len(e.head)) {
			src = e.head[off:]
		} else {
			u := (off - int64(len(e.head))) % int64(len(e.unit))
			src = e.unit[u:]
		}
		c := copy(p[w:], src)
		w += c
		e.pos += int64(c)
	}
	e.n.Add(int64(w))
	return w, nil
}

func newEndless(max int64) *endless {
	return &endless{
		head: "<?xml version='1.0'?>\n<methodCall>\n<methodName>x.y</methodName>\n<params>\n",
		unit: "<param>\n<value><string>" + strings.Repeat("a", 1000) + "</string></value>\n</param>\n",
		max:  max,
	}
}

func okHandler(called *atomic.Int32) HandlerFunc {
	return func(ctx context.Context, method string, params []any) (any, error) {
		called.Add(1)
		return len(params), nil
	}
}

func TestHandler_100MBBodyGets413WithoutBuffering(t *testing.T) {
	var called atomic.Int32
	h := Handler(okHandler(&called), Limits{})
	const size = 100 << 20

	// Declared length: refused before reading anything.
	body := newEndless(size)
	req := httptest.NewRequest(http.MethodPost, "/RPC2", body)
	req.ContentLength = size
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || body.n.Load() != 0 {
		t.Fatalf("declared 100 MB: %d, read %d bytes", rec.Code, body.n.Load())
	}

	// Streamed (no length): refused after MaxBytes+1 bytes, in bounded
	// memory.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	body = newEndless(size)
	req = httptest.NewRequest(http.MethodPost, "/RPC2", body)
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("streamed 100 MB: %d %s", rec.Code, rec.Body)
	}
	if body.n.Load() > DefaultLimits.MaxBytes+1 {
		t.Fatalf("read %d bytes, more than MaxBytes+1", body.n.Load())
	}
	// The 8 MB read are decoded into ~8 MB of strings; allow for garbage,
	// but nothing near the 100 MB sent.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Fatalf("allocated %d MB for a body cut at 8 MB", alloc>>20)
	}
	t.Logf("read %d bytes, allocated %d MB in all", body.n.Load(), (after.TotalAlloc-before.TotalAlloc)>>20)

	// A small limit allocates little.
	runtime.GC()
	runtime.ReadMemStats(&before)
	body = newEndless(size)
	req = httptest.NewRequest(http.MethodPost, "/RPC2", body)
	rec = httptest.NewRecorder()
	Handler(okHandler(&called), Limits{MaxBytes: 64 << 10}).ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	if rec.Code != http.StatusRequestEntityTooLarge || body.n.Load() > 64<<10+1 {
		t.Fatalf("small limit: %d, read %d", rec.Code, body.n.Load())
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("allocated %d KB for a body cut at 64 KB", alloc>>10)
	}
	if called.Load() != 0 {
		t.Fatal("fn was called for an oversized body")
	}

	// Just under the limit is served.
	body = newEndless(0)
	doc := body.head + strings.Repeat(body.unit, 100) + "</params></methodCall>"
	req = httptest.NewRequest(http.MethodPost, "/RPC2", strings.NewReader(doc))
	rec = httptest.NewRecorder()
	Handler(okHandler(&called), Limits{MaxBytes: int64(len(doc))}).ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<int>100</int>") {
		t.Fatalf("at the limit: %d %s", rec.Code, rec.Body)
	}
}

func TestHandler_413OverTheNetwork(t *testing.T) {
	var called atomic.Int32
	srv := httptest.NewServer(Handler(okHandler(&called), Limits{MaxBytes: 1 << 20}))
	defer srv.Close()
	body := newEndless(100 << 20)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/RPC2", body)
	req.ContentLength = -1 // chunked
	resp, err := srv.Client().Do(req)
	if err != nil {
		// The server may close the connection while we are still sending.
		t.Logf("streaming client saw %v after %d bytes", err, body.n.Load())
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %s", resp.Status)
		}
	}
	if body.n.Load() >= 100<<20 {
		t.Fatal("the whole body was sent")
	}
	// With a Content-Length the answer comes before the body is sent.
	body = newEndless(100 << 20)
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/RPC2", body)
	req.ContentLength = 100 << 20
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %s", resp.Status)
	}
}

func post(h http.Handler, method, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/RPC2", strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler_statuses(t *testing.T) {
	var called atomic.Int32
	h := Handler(func(ctx context.Context, method string, params []any) (any, error) {
		called.Add(1)
		switch method {
		case "a.fault":
			return nil, &Fault{70, "NOT_RUNNING: web"}
		case "a.wrapped":
			return nil, errors.Join(errors.New("x"), &Fault{10, "BAD_NAME: x"})
		case "a.error":
			return nil, errors.New("disk on fire")
		case "a.bad":
			return struct{}{}, nil
		case "a.big":
			return 1 << 40, nil
		case "a.ctx":
			return ctx.Err() == nil, nil
		}
		return params, nil
	}, Limits{})
	call := func(m string) string {
		var b bytes.Buffer
		EncodeCall(&b, m, "p")
		return b.String()
	}

	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete} {
		rec := post(h, m, "")
		if rec.Code != 405 || rec.Header().Get("Allow") != "POST" {
			t.Errorf("%s: %d Allow=%q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}

	rec := post(h, "POST", call("a.echo"))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/xml" || rec.Header().Get("Content-Length") != "172" {
		t.Errorf("echo: %d %v", rec.Code, rec.Header())
	}
	if v, err := DecodeResponse(rec.Body, Limits{}); err != nil || !equal(v, []any{"p"}) {
		t.Errorf("echo: %#v %v", v, err)
	}

	for m, want := range map[string]Fault{"a.fault": {70, "NOT_RUNNING: web"}, "a.wrapped": {10, "BAD_NAME: x"}} {
		rec := post(h, "POST", call(m))
		_, err := DecodeResponse(rec.Body, Limits{})
		var f *Fault
		if rec.Code != 200 || !errors.As(err, &f) || *f != want {
			t.Errorf("%s: %d %v", m, rec.Code, err)
		}
	}
	for m, want := range map[string]string{
		"a.error": "disk on fire",
		"a.bad":   "cannot encode the response to a.bad: xmlrpc: cannot encode a value of type struct {}",
		"a.big":   "int 1099511627776 exceeds XML-RPC limits",
	} {
		rec := post(h, "POST", call(m))
		if rec.Code != 500 || !strings.Contains(rec.Body.String(), want) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q", m, rec.Code, rec.Body)
		}
	}
	rec = post(h, "POST", call("a.ctx"))
	if v, err := DecodeResponse(rec.Body, Limits{}); v != true {
		t.Errorf("ctx: %v %v", v, err)
	}

	n := called.Load()
	for _, c := range malformedCases {
		if !c.call {
			continue
		}
		rec := post(h, "POST", c.doc)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q", c.name, rec.Code, rec.Body)
		}
	}
	if called.Load() != n {
		t.Error("fn was called for a malformed body")
	}
}

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func TestHandler_gzipBodies(t *testing.T) {
	var called atomic.Int32
	h := Handler(okHandler(&called), Limits{MaxBytes: 1 << 20})
	var b bytes.Buffer
	EncodeCall(&b, "a.b", 1, 2, 3)
	rec := post(h, "POST", gz(b.String()), "Content-Encoding", "gzip")
	if v, err := DecodeResponse(rec.Body, Limits{}); rec.Code != 200 || v != int64(3) {
		t.Fatalf("gzip: %d %v %v", rec.Code, v, err)
	}
	// 16 MB that compress to ~16 KB: cut at the decompressed limit.
	e := newEndless(16 << 20)
	all, _ := io.ReadAll(e)
	rec = post(h, "POST", gz(string(all)), "Content-Encoding", "gzip")
	if rec.Code != 413 {
		t.Fatalf("gzip bomb: %d %s", rec.Code, rec.Body)
	}
	rec = post(h, "POST", "not gzip", "Content-Encoding", "gzip")
	if rec.Code != 400 {
		t.Fatalf("bad gzip: %d", rec.Code)
	}
	rec = post(h, "POST", b.String(), "Content-Encoding", "br")
	if rec.Code != 415 {
		t.Fatalf("br: %d", rec.Code)
	}
}

func TestNewClient_urls(t *testing.T) {
	for _, u := range []string{"http://localhost:9001", "HTTP://127.0.0.1", "https://h:1/x", "unix:///tmp/supervisor.sock", "unix://rel.sock"} {
		if _, err := NewClient(u, "", ""); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"", "localhost:9001", "ftp://h", "unix://", "http://", "/tmp/s.sock", "http://%zz"} {
		if _, err := NewClient(u, "", ""); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

// TestClient_authKeepAliveAndErrors: our Client against our Handler
// behind Basic auth, over TCP and a unix socket.
func TestClient_authKeepAliveAndErrors(t *testing.T) {
	var lastAuth atomic.Value
	inner := withHeaders(Handler(recordingHandler(), Limits{}))
	mux := http.NewServeMux()
	mux.Handle("/RPC2", inner)
	mux.HandleFunc("/logtail/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for i := range 3 {
			io.WriteString(w, r.PathValue("name")+" line "+string(rune('0'+i))+"\n")
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) {})
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastAuth.Store(r.Header.Get("Authorization"))
		basicAuth(mux, "user", "123").ServeHTTP(w, r)
	})
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(auth)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	dir, err := os.MkdirTemp("", "xr")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	usrv := &http.Server{Handler: auth}
	var wg sync.WaitGroup
	wg.Go(func() { usrv.Serve(ln) })
	defer func() { usrv.Close(); wg.Wait() }()

	ctx := context.Background()
	for _, base := range []string{srv.URL + "/ignored/path", "unix://" + sock} {
		c, err := NewClient(base, "user", "123")
		if err != nil {
			t.Fatal(err)
		}
		conns.Store(0)
		for i := range 20 {
			v, err := c.Call(ctx, "echo", i)
			if err != nil || v != int64(i) {
				t.Fatalf("%s: echo %d: %v %v", base, i, v, err)
			}
		}
		if lastAuth.Load() != "Basic dXNlcjoxMjM=" {
			t.Fatalf("Authorization %q", lastAuth.Load())
		}
		if strings.HasPrefix(base, "http") && conns.Load() != 1 {
			t.Errorf("20 calls used %d connections", conns.Load())
		}
		h, err := c.Call(ctx, "headers")
		hm, _ := h.(map[string]any)
		if err != nil || hm["Content-Type"] != "text/xml" || hm["Accept"] != "text/xml" {
			t.Errorf("headers: %v %v", h, err)
		}

		_, err = c.Call(ctx, "fault")
		var f *Fault
		if !errors.As(err, &f) || f.Code != 10 {
			t.Errorf("fault: %v", err)
		}
		_, err = c.Call(ctx, "boom")
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != 500 || he.Status != "500 Internal Server Error" {
			t.Errorf("boom: %v", err)
		}
		if _, err := c.Call(ctx, "echo", struct{}{}); err == nil || !strings.Contains(err.Error(), "cannot encode") {
			t.Errorf("unencodable param: %v", err)
		}

		// Streaming GET with the same auth.
		resp, err := c.Get(ctx, "/logtail/web%20app")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "web app line 0\nweb app line 1\nweb app line 2\n" {
			t.Errorf("GET: %s %q", resp.Status, body)
		}
		resp, err = c.Get(ctx, "/nothing")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET /nothing: %s", resp.Status)
		}

		// Without credentials: 401.
		anon, _ := NewClient(base, "", "")
		_, err = anon.Call(ctx, "echo", 1)
		if !errors.As(err, &he) || he.StatusCode != 401 || he.Error() != "xmlrpc: HTTP status 401 Unauthorized" {
			t.Errorf("anonymous: %v", err)
		}
		if lastAuth.Load() != "" {
			t.Errorf("anonymous sent Authorization %q", lastAuth.Load())
		}
		resp, err = anon.Get(ctx, "/logtail/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("anonymous GET: %s", resp.Status)
		}

		// Cancelled context.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Call(cctx, "echo", 1); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
	}

	// A 200 that is not XML-RPC.
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>oops</html>")
	}))
	defer garbage.Close()
	c, _ := NewClient(garbage.URL, "", "")
	_, err = c.Call(ctx, "x")
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Errorf("garbage: %v", err)
	}

	// Nothing listening.
	c, _ = NewClient("unix://"+filepath.Join(dir, "none.sock"), "", "")
	if _, err := c.Call(ctx, "x"); err == nil {
		t.Error("call to a missing socket succeeded")
	}
}

func TestClient_hungServerRespectsContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c, _ := NewClient(srv.URL, "", "")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Call(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}
