package xmlrpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serve runs NewServer(h, o) on a loopback port and returns its address.
func serve(t *testing.T, h http.Handler, o ServerOptions) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, "test", o)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// logLines collects Logf lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
	added chan struct{}
}

func newLogLines() *logLines { return &logLines{added: make(chan struct{}, 100)} }

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
}

func (l *logLines) waitFor(t *testing.T, substr string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if strings.Contains(line, substr) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		select {
		case <-l.added:
		case <-deadline:
			t.Fatalf("no log line with %q", substr)
		}
	}
}

// A body that trickles in is cut at ReadTimeout: the connection is closed.
func TestServer_slowBodyIsCut(t *testing.T) {
	var called atomic.Int32
	o := ServerOptions{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 300 * time.Millisecond, IdleTimeout: time.Minute}
	addr := serve(t, Handler(okHandler(&called), Limits{}), o)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<?xml")
	// Keep trickling until the server gives up; it answers 400 (a body
	// cut short) or just closes, but never waits for ever.
	c.SetDeadline(time.Now().Add(60 * time.Second))
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, c)
		done <- err
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			// Closed (EOF) or reset (closed with our bytes unread); a
			// timeout means the server held the connection.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server did not close the connection: %v", err)
			}
			if called.Load() != 0 {
				t.Error("the handler ran on a partial body")
			}
			return
		case <-tick.C:
			c.Write([]byte(" "))
		}
	}
}

// A call that waits longer than ReadTimeout after its body is read is not
// cancelled: a stop that waits stopwaitsecs must outlive the body timeout
// (net/http lifts the read deadline once the body is read; this test
// keeps that true of the listener wrappers too).
func TestServer_longCallOutlivesReadTimeout(t *testing.T) {
	o := ServerOptions{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 200 * time.Millisecond}
	release := make(chan struct{})
	addr := serve(t, Handler(func(ctx context.Context, _ string, _ []any) (any, error) {
		// Wait until well past the read deadline, or fail at once when
		// the context is cancelled.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-release:
			return "waited", nil
		}
	}, Limits{}), o)
	c, err := NewClient("http://"+addr, "", "")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// Past the deadline by a wide margin: the ReadTimeout is 200 ms.
		time.Sleep(time.Second)
		close(release)
	}()
	v, err := c.Call(context.Background(), "wait")
	if err != nil || v != "waited" {
		t.Fatalf("call = %v, %v; want waited", v, err)
	}
}

// At MaxConns connections, the next waits (and it is logged) until one
// closes.
func TestServer_connectionCap(t *testing.T) {
	log := newLogLines()
	var called atomic.Int32
	o := ServerOptions{ReadHeaderTimeout: time.Minute, MaxConns: 3, Logf: log.logf}
	addr := serve(t, Handler(okHandler(&called), Limits{}), o)
	var idle []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	answered := make(chan error, 1)
	go func() {
		c, err := NewClient("http://"+addr, "", "")
		if err == nil {
			_, err = c.Call(context.Background(), "x")
		}
		answered <- err
	}()
	log.waitFor(t, "HTTP server 'test' has reached its limit of 3 connections")
	select {
	case err := <-answered:
		t.Fatalf("a fourth connection was served while three were open: %v", err)
	default:
	}
	idle[0].Close()
	if err := <-answered; err != nil {
		t.Fatalf("call after a connection closed: %v", err)
	}
}

// A panicking handler is answered 500 and logged.
func TestRecover_panicIs500(t *testing.T) {
	log := newLogLines()
	o := ServerOptions{ReadHeaderTimeout: time.Minute, Logf: log.logf}
	addr := serve(t, Handler(func(context.Context, string, []any) (any, error) {
		var s []byte
		_ = s[5] // an index out of range
		return nil, nil
	}, Limits{}), o)
	c, _ := NewClient("http://"+addr, "", "")
	_, err := c.Call(context.Background(), "boom")
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 500 {
		t.Fatalf("call = %v; want HTTP 500", err)
	}
	log.waitFor(t, "HTTP handler panicked serving POST /RPC2: runtime error: index out of range")
}

// Requests without Host are given one, on every request of a connection,
// bodies (by Content-Length) passed through untouched.
func TestTolerateNoHost(t *testing.T) {
	o := ServerOptions{ReadHeaderTimeout: time.Minute}
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s host=%q body=%q", r.Method, r.URL.Path, r.Host, body)
	}), o)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	tests := []struct{ req, want string }{
		{"GET / HTTP/1.1\r\n\r\n", `GET / host="localhost" body=""`},
		{"POST /a HTTP/1.1\r\nContent-Length: 23\r\n\r\nGET /b HTTP/1.1\r\n\r\nxxxx", `POST /a host="localhost" body="GET /b HTTP/1.1\r\n\r\nxxxx"`},
		{"GET /c HTTP/1.1\nhOsT: given\n\n", `GET /c host="given" body=""`},
		{"GET /d HTTP/1.1\r\nX: y\r\n\r\n", `GET /d host="localhost" body=""`},
		{"GET /e HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", `GET /e host="" body=""`},
	}
	for _, tt := range tests {
		// Byte by byte, as a trickling client sends it.
		for i := range len(tt.req) {
			c.Write([]byte{tt.req[i]})
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", tt.req, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != tt.want {
			t.Errorf("%q: %d %s; want 200 %s", tt.req, resp.StatusCode, got, tt.want)
		}
	}
	// A chunked body: passed through, the rest of the connection too.
	io.WriteString(c, "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /g HTTP/1.1\r\n\r\n")
	for _, want := range []string{`200 POST /f host="localhost" body="abc"`, "400"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("chunked: %v", err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if s := fmt.Sprintf("%d %s", resp.StatusCode, got); !strings.HasPrefix(s, want) {
			t.Errorf("chunked: %s; want %s", s, want)
		}
	}
}

// At MaxConns, kept-alive connections waiting for a request are closed to
// make room: clients that leave connections idle (each with a transport
// of its own) do not lock others out until the IdleTimeout.
func TestServer_capClosesIdleConnections(t *testing.T) {
	var called atomic.Int32
	o := ServerOptions{ReadHeaderTimeout: time.Minute, IdleTimeout: time.Hour, MaxConns: 3}
	addr := serve(t, Handler(okHandler(&called), Limits{}), o)
	for i := range 10 {
		c, err := NewClient("http://"+addr, "", "")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = c.Call(ctx, "x")
		cancel()
		if err != nil {
			t.Fatalf("call %d with 3 connections left idle: %v", i+1, err)
		}
	}
}
