package rpc

import (
	"fmt"
	"net/http"
	"strings"
)

// index serves GET / (and /index.html) as plain text: what this server is,
// where its API is, and every process with its state. Python serves an
// HTML status page with buttons there; this runtime's portal is the web
// interface, so the daemon answers only what a health check or a person
// with curl needs: 200 while it runs, and the states.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "supervisord %s (gpudesk runtime)\n", SupervisorVersion)
	b.WriteString("XML-RPC: POST /RPC2; logs: GET /logtail/<name>[/stderr], GET /mainlogtail\n\n")
	err := s.on(r.Context(), func() error {
		for _, t := range lexical(s.d.Groups()) {
			fmt.Fprintf(&b, "%-32s %s\n", t.namespec(), t.p.State())
		}
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write([]byte(b.String()))
}
