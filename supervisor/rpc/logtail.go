package rpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// logtail serves GET /logtail/<name>[/stderr]: the last kilobyte of the
// log, then everything appended, until the client goes away (what
// `supervisorctl tail -f` reads).
func (s *Server) logtail(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	p, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/logtail/"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	name, channel := p, "stdout"
	if i := strings.Index(p, "/"); i >= 0 {
		name, channel = p[:i], p[i+1:]
	}
	var path string
	s.on(r.Context(), func() error {
		_, proc, err := s.d.Process(name)
		if err != nil || proc == nil {
			return nil
		}
		switch channel {
		case "stdout":
			path = proc.LogPath(false)
		case "stderr":
			path = proc.LogPath(true)
		}
		return nil
	})
	s.follow(w, r, path)
}

// mainlogtail serves GET /mainlogtail: the daemon's own log, followed.
func (s *Server) mainlogtail(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	var path string
	s.on(r.Context(), func() error { path = s.d.Logger().Path(); return nil })
	s.follow(w, r, path)
}

// follow streams a file as supervisor's tail_f_producer: from 1024 bytes
// before the end, following appends, truncation and replacement.
func (s *Server) follow(w http.ResponseWriter, r *http.Request, path string) {
	if path == "" {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer func() { f.Close() }()
	st, _ := f.Stat()
	w.Header().Set("Last-Modified", st.ModTime().UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	pos := max(st.Size()-1024, 0)
	ino := inode(st)
	buf := make([]byte, 64<<10)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	ctx := r.Context()
	for {
		// A rotated or recreated file: continue with the new one.
		if cur, err := os.Stat(path); err == nil && inode(cur) != ino {
			if nf, err := os.Open(path); err == nil {
				f.Close()
				f, ino, pos = nf, inode(cur), 0
			}
		}
		st, err := f.Stat()
		if err != nil {
			return
		}
		if st.Size() < pos {
			pos = 0
			io.WriteString(w, "==> File truncated <==\n")
		}
		for pos < st.Size() {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), st.Size()-pos)], pos)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				pos += int64(n)
			}
			if err != nil {
				break
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		if waitTick(ctx, xmlrpc.Stopping(ctx), tick) != nil {
			return
		}
	}
}

// errServerStopping ends a stream when its server shuts down.
var errServerStopping = errors.New("server shutting down")

func waitTick(ctx context.Context, stopping <-chan struct{}, t *time.Ticker) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-stopping:
		return errServerStopping
	case <-t.C:
		return nil
	}
}

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
