// Package web is the portal's HTTP side: the pages (services, processes,
// logs, system), the JSON API with the same data, live updates over
// server-sent events, the login form, and the forward-auth endpoint Caddy
// asks. Pages are html/template with embedded assets; data never becomes
// HTML except through the template's escaping or the DOM's textContent.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gpudesk/runtime/services/gpuprobe"
	"github.com/gpudesk/runtime/services/logtail"
	"github.com/gpudesk/runtime/services/portal/auth"
	"github.com/gpudesk/runtime/services/portal/caddy"
	"github.com/gpudesk/runtime/services/portal/links"
	"github.com/gpudesk/runtime/services/portal/logview"
	"github.com/gpudesk/runtime/services/portal/registry"
	"github.com/gpudesk/runtime/services/portal/sysinfo"
	"github.com/gpudesk/runtime/supervisor/client"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server serves the portal.
type Server struct {
	Auth   *auth.Auth
	Sup    Supervisor
	Poller *Poller
	// Registrations returns the current entries of /run/http_ports.
	Registrations func() []registry.Entry
	Links         *links.Resolver
	Caddy         func() caddy.Status
	Logs          *logview.Hub
	Redactor      *logtail.Redactor
	LogtailPath   string
	System        *Cached[sysinfo.Info]
	GPUs          *Cached[*gpuprobe.Report]
	// Problems are fixed problems found at start (HTTPS pair unusable).
	Problems []string
	// ActionTimeout bounds a start/stop/restart.
	ActionTimeout time.Duration
	// Logf writes to the portal's log (discarded when nil).
	Logf func(format string, a ...any)

	pages map[string]*template.Template
}

// Handler returns the portal's handler. Every state-changing request is
// checked by http.CrossOriginProtection (Sec-Fetch-Site / Origin against
// Host) and, for sessions, by the CSRF token.
func (s *Server) Handler() (http.Handler, error) {
	if err := s.parse(); err != nil {
		return nil, err
	}
	if s.ActionTimeout == 0 {
		s.ActionTimeout = 2 * time.Minute
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /.gpudesk/static/", http.StripPrefix("/.gpudesk/static/", staticHandler(static)))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET "+auth.ForwardPath, s.Auth.Forward)
	for _, p := range []string{"/login", auth.LoginPath} {
		mux.HandleFunc("GET "+p, s.loginPage)
		mux.HandleFunc("POST "+p, s.loginPost)
	}
	for _, p := range []string{"/logout", "/.gpudesk/logout"} {
		mux.Handle("POST "+p, s.authed(s.logout))
	}
	mux.Handle("GET /{$}", s.authed(s.servicesPage))
	mux.Handle("GET /processes", s.authed(s.processesPage))
	mux.Handle("GET /logs", s.authed(s.logsPage))
	mux.Handle("GET /logs/{name}", s.authed(s.logPage))
	mux.Handle("GET /system", s.authed(s.systemPage))

	mux.Handle("GET /api/whoami", s.authed(s.apiWhoami))
	mux.Handle("GET /api/services", s.authed(s.apiServices))
	mux.Handle("GET /api/processes", s.authed(s.apiProcesses))
	mux.Handle("POST /api/processes/{name}/{action}", s.authed(s.apiAction))
	mux.Handle("GET /api/startup", s.authed(s.apiStartup))
	mux.Handle("GET /api/system", s.authed(s.apiSystem))
	mux.Handle("GET /api/gpus", s.authed(s.apiGPUs))
	mux.Handle("GET /api/caddy", s.authed(s.apiCaddy))
	mux.Handle("GET /api/logs", s.authed(s.apiLogs))
	mux.Handle("GET /api/logs/{name}", s.authed(s.apiLog))
	mux.Handle("GET /api/logs/{name}/stream", s.authed(s.apiLogStream))
	mux.Handle("GET /api/logs/{name}/download", s.authed(s.apiLogDownload))
	mux.Handle("GET /api/events", s.authed(s.apiEvents))

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "cross-origin request refused"})
	}))
	return securityHeaders(cop.Handler(mux)), nil
}

func staticHandler(fsys fs.FS) http.Handler {
	h := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders: no framing (clickjacking of the action buttons), no
// inline or foreign script, no sniffing, no referrer to other sites.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

type authedFunc func(w http.ResponseWriter, r *http.Request, who auth.Who)

// authed lets logged-in requests through. A GET with ?token= logs the
// browser in (Vast's Open button) and comes back without the token; a
// state-changing request of a session must carry its CSRF token.
func (s *Server) authed(h authedFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := s.Auth.Check(r)
		if r.Method == http.MethodGet {
			if clean, tok, ok := auth.WithoutToken(r.URL.RequestURI()); ok {
				c, retry, good := s.Auth.TokenLogin(r, tok)
				switch {
				case good:
					http.SetCookie(w, c)
					http.Redirect(w, r, clean, http.StatusFound)
					return
				case who.OK:
					http.Redirect(w, r, clean, http.StatusFound)
					return
				case retry > 0:
					auth.TooMany(w, retry)
					return
				}
			}
		}
		if !who.OK {
			w.Header().Set("Cache-Control", "no-store")
			auth.Deny(w, r, r.Method, r.URL.RequestURI(), "/login")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !s.Auth.CheckCSRF(r, who) {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong CSRF token (X-CSRF-Token header or csrf form field)"})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, who)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers only a status and the names of what is not ready: it is
// open to probes without a login.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.Poller.Current()
	if st.At.IsZero() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unknown"})
		return
	}
	if st.Error != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unknown", "reason": "supervisord cannot be reached"})
		return
	}
	if st.Startup.Phase == "ready" {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
		return
	}
	var names []string
	for _, wt := range st.Startup.Readiness.Waiting {
		names = append(names, wt.Name)
	}
	if len(names) == 0 && st.Startup.FirstWait != "" {
		names = []string{st.Startup.FirstWait}
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": st.Startup.Phase, "waiting": names})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, who auth.Who) {
	c, err := s.Auth.Logout(r, who)
	if err != nil && s.Logf != nil {
		s.Logf("logout: %v", err)
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) apiWhoami(w http.ResponseWriter, r *http.Request, who auth.Who) {
	writeJSON(w, http.StatusOK, map[string]string{"user": who.User, "via": who.Via, "csrf": s.Auth.CSRFToken(who)})
}

func (s *Server) findProcess(name string) (Process, bool) {
	for _, p := range s.Poller.Current().Processes {
		if p.Name == name {
			return p, true
		}
	}
	return Process{}, false
}

// apiAction starts, stops or restarts a program. The portal and Caddy
// cannot be stopped from here (a click would cut the page off).
func (s *Server) apiAction(w http.ResponseWriter, r *http.Request, who auth.Who) {
	name, action := r.PathValue("name"), r.PathValue("action")
	if action != "start" && action != "stop" && action != "restart" {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown action " + action + " (start, stop or restart)"})
		return
	}
	p, ok := s.findProcess(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such program: " + name})
		return
	}
	if p.Protected && action != "start" {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": name + " cannot be stopped from the portal (use supervisorctl)"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.ActionTimeout)
	defer cancel()
	var err error
	switch action {
	case "start":
		err = s.Sup.StartProcess(ctx, name, false)
	case "stop":
		err = s.Sup.StopProcess(ctx, name, true)
	case "restart":
		err = s.Sup.StopProcess(ctx, name, true)
		if code, ok := client.FaultCode(err); ok && code == client.FaultNotRunning {
			err = nil
		}
		if err == nil {
			err = s.Sup.StartProcess(ctx, name, false)
		}
	}
	s.Poller.Kick()
	if err != nil {
		code := http.StatusBadGateway
		if c, ok := client.FaultCode(err); ok {
			switch c {
			case client.FaultAlreadyStarted, client.FaultNotRunning:
				code = http.StatusConflict
			case client.FaultBadName:
				code = http.StatusNotFound
			default:
				code = http.StatusUnprocessableEntity
			}
		}
		writeJSON(w, code, map[string]string{"error": action + " " + name + ": " + err.Error()})
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, "/processes", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "name": name, "action": action})
}

func (s *Server) apiProcesses(w http.ResponseWriter, r *http.Request, who auth.Who) {
	st := s.Poller.Current()
	writeJSON(w, http.StatusOK, map[string]any{"processes": nonNil(st.Processes), "error": st.Error})
}

func (s *Server) apiStartup(w http.ResponseWriter, r *http.Request, who auth.Who) {
	writeJSON(w, http.StatusOK, s.Poller.Current().Startup)
}

func (s *Server) apiCaddy(w http.ResponseWriter, r *http.Request, who auth.Who) {
	writeJSON(w, http.StatusOK, s.Caddy())
}

func (s *Server) apiSystem(w http.ResponseWriter, r *http.Request, who auth.Who) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	v, _, at := s.System.Wait(ctx)
	writeJSON(w, http.StatusOK, map[string]any{"system": v, "at": at})
}

func (s *Server) apiGPUs(w http.ResponseWriter, r *http.Request, who auth.Who) {
	ctx, cancel := context.WithTimeout(r.Context(), 8*time.Second)
	defer cancel()
	v, err, at := s.GPUs.Wait(ctx)
	out := map[string]any{"report": v, "at": at}
	if err != nil {
		out["error"] = err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}

func nonNil[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// apiEvents streams the live state (processes and start-up) as
// server-sent events: the whole picture at once, then at each change.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request, who auth.Who) {
	c, cancel := s.Poller.Events.Subscribe()
	defer cancel()
	serveSSE(w, r, c)
}

// serveSSE sends what arrives on src as server-sent events until the
// client goes. What is waiting goes out together (up to maxBatch events)
// in one flush; nothing is copied per client (each event is written as
// it is, between its "data: " and blank line). Keep-alive comments go out
// every 15 s so proxies keep the connection.
func serveSSE(w http.ResponseWriter, r *http.Request, src <-chan []byte) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("retry: 2000\n\n"))
	rc.Flush()
	ka := time.NewTicker(15 * time.Second)
	defer ka.Stop()
	event := func(b []byte) error {
		if _, err := w.Write(dataPrefix); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		_, err := w.Write(eventEnd)
		return err
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case b := <-src:
			if event(b) != nil {
				return
			}
		more:
			for n := 1; n < maxBatch; n++ {
				select {
				case b := <-src:
					if event(b) != nil {
						return
					}
				default:
					break more
				}
			}
			if rc.Flush() != nil {
				return
			}
		case <-ka.C:
			w.Write([]byte(": keep-alive\n\n"))
			if rc.Flush() != nil {
				return
			}
		}
	}
}

var dataPrefix, eventEnd = []byte("data: "), []byte("\n\n")
