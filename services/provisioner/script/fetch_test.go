package script

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func fast() FetchOptions {
	return FetchOptions{Attempts: 3, Backoff: 10 * time.Millisecond, StallTimeout: 300 * time.Millisecond, MaxBytes: 4096}
}

type server struct {
	*httptest.Server
	hits atomic.Int32
}

func serve(t *testing.T, h func(n int32, w http.ResponseWriter, r *http.Request)) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(s.hits.Add(1), w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestFetch(t *testing.T) {
	script := "#!/bin/false\r\necho hello\r\n"
	sum := sha256.Sum256([]byte(script))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	cases := []struct {
		name     string
		handler  func(n int32, w http.ResponseWriter, r *http.Request)
		opts     func(*FetchOptions)
		path     string
		wantErr  string
		wantHits int32
	}{
		{name: "200 with CRLF", handler: func(_ int32, w http.ResponseWriter, _ *http.Request) { w.Write([]byte(script)) }, wantHits: 1},
		{name: "404", handler: func(_ int32, w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }, wantErr: "HTTP 404 Not Found", wantHits: 1},
		{name: "500 then 200", handler: func(n int32, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.WriteHeader(500)
				return
			}
			w.Write([]byte(script))
		}, wantHits: 2},
		{name: "500 always", handler: func(_ int32, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, wantErr: "HTTP 503 Service Unavailable (gave up after 3 attempts)", wantHits: 3},
		{name: "HTML by type", handler: func(_ int32, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<html>login</html>"))
		}, wantErr: "HTML page", wantHits: 1},
		{name: "HTML as text", handler: func(_ int32, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("\n  <!DOCTYPE html><html>"))
		}, wantErr: "HTML page", wantHits: 1},
		{name: "slow", handler: func(_ int32, w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("echo start\n"))
			w.(http.Flusher).Flush()
			select { // the client gives up first (its stall timeout)
			case <-release:
			case <-r.Context().Done():
			}
		}, wantErr: "no data for 300ms (gave up after 3 attempts)", wantHits: 3},
		{name: "huge", handler: func(_ int32, w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(strings.Repeat("echo x\n", 2000)))
		}, wantErr: "larger than 4096 bytes", wantHits: 1},
		{name: "redirect loop", handler: func(n int32, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/loop?n="+string(rune('a'+n%26)), http.StatusFound)
		}, wantErr: "stopped after 10 redirects", wantHits: 10},
		{name: "wrong checksum", handler: func(_ int32, w http.ResponseWriter, _ *http.Request) { w.Write([]byte(script + "tampered\n")) },
			opts: func(o *FetchOptions) { o.SHA256 = hex.EncodeToString(sum[:]) }, wantErr: "PROVISIONING_SCRIPT_SHA256 wants", wantHits: 1},
		{name: "right checksum", handler: func(_ int32, w http.ResponseWriter, _ *http.Request) { w.Write([]byte(script)) },
			opts: func(o *FetchOptions) { o.SHA256 = strings.ToUpper(hex.EncodeToString(sum[:])) }, wantHits: 1},
		{name: "token in the query is never printed", handler: func(_ int32, w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) },
			path: "/s.sh?token=sekrit-query-token", wantErr: "/s.sh: HTTP 404", wantHits: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := serve(t, c.handler)
			o := fast()
			var logged []string
			o.Log = func(l string) { logged = append(logged, l) }
			if c.opts != nil {
				c.opts(&o)
			}
			path := c.path
			if path == "" {
				path = "/provisioning.sh"
			}
			body, err := Fetch(context.Background(), s.URL+path, o)
			if c.wantErr == "" {
				if err != nil || string(body) != script {
					t.Fatalf("got %q, %v", body, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want %q", err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error()+strings.Join(logged, "\n"), "sekrit") {
				t.Errorf("the URL's query was printed: %v %q", err, logged)
			}
			if got := s.hits.Load(); got != c.wantHits {
				t.Errorf("%d requests, want %d", got, c.wantHits)
			}
		})
	}
}

func TestFetch_NotAURL(t *testing.T) {
	for _, u := range []string{"ftp://x/y", "file:///etc/passwd", "no scheme", ""} {
		if _, err := Fetch(context.Background(), u, fast()); err == nil || !strings.Contains(err.Error(), "not an http:// or https:// URL") {
			t.Errorf("%q: %v", u, err)
		}
	}
}

func TestPrepare(t *testing.T) {
	cases := []struct {
		in, out string
		shebang bool
	}{
		{"#!/bin/false\r\necho hi\r\n", "#!/bin/bash\necho hi\n", true},
		{"\xef\xbb\xbf#!/usr/bin/env python3\nprint(1)\n", "#!/usr/bin/env python3\nprint(1)\n", true},
		{"echo no shebang\n", "echo no shebang\n", false},
		{"#!/bin/falsehood\n", "#!/bin/falsehood\n", true},
	}
	for _, c := range cases {
		got, sb := Prepare([]byte(c.in))
		if string(got) != c.out || sb != c.shebang {
			t.Errorf("Prepare(%q) = %q, %v", c.in, got, sb)
		}
	}
}
