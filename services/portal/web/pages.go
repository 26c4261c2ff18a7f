package web

import (
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gpudesk/runtime/services/portal/auth"
	"github.com/gpudesk/runtime/services/portal/links"
)

var funcs = template.FuncMap{
	"bytes": func(n int64) string {
		const unit = 1024
		if n < unit {
			return fmt.Sprintf("%d B", n)
		}
		div, exp := int64(unit), 0
		for m := n / unit; m >= unit; m /= unit {
			div *= unit
			exp++
		}
		return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
	},
	"dur": func(secs int64) string {
		if secs <= 0 {
			return ""
		}
		return (time.Duration(secs) * time.Second).String()
	},
	"ms": func(ms float64) string {
		return (time.Duration(ms) * time.Millisecond).Round(time.Millisecond).String()
	},
	"pct": func(p *float64) string {
		if p == nil {
			return "…"
		}
		return fmt.Sprintf("%.0f%%", *p)
	},
	"deref": func(p any) any {
		switch v := p.(type) {
		case *string:
			if v != nil {
				return *v
			}
		case *int64:
			if v != nil {
				return *v
			}
		case *int:
			if v != nil {
				return *v
			}
		case *bool:
			if v != nil {
				return *v
			}
		}
		return ""
	},
}

func (s *Server) parse() error {
	s.pages = map[string]*template.Template{}
	for _, name := range []string{"services", "processes", "logs", "log", "system", "login"} {
		base := "templates/layout.html"
		if name == "login" {
			base = "templates/bare.html"
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, base, "templates/startup.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("parsing template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	return nil
}

// Page is what every page template gets.
type Page struct {
	Title    string
	Page     string
	User     string
	CSRF     string
	AuthOff  bool
	Problems []string
	State    State
	Data     any
}

func (s *Server) page(r *http.Request, who auth.Who, name, title string, data any) Page {
	st := s.Poller.Current()
	p := Page{Title: title, Page: name, User: who.User, CSRF: s.Auth.CSRFToken(who), State: st, Data: data}
	as := s.Auth.Status()
	p.AuthOff = !as.Enabled && as.Problem == ""
	if as.Problem != "" {
		p.Problems = append(p.Problems, "Login: "+as.Problem)
	}
	p.Problems = append(p.Problems, s.Problems...)
	if st.Error != "" {
		p.Problems = append(p.Problems, st.Error+" (the page recovers by itself when it is back)")
	}
	if cs := s.Caddy(); cs.Error != "" {
		p.Problems = append(p.Problems, "Caddy: "+cs.Error+" (retrying)")
	}
	return p
}

func (s *Server) render(w http.ResponseWriter, code int, name string, p Page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := s.pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		fmt.Fprintf(w, "<p>template error: %s</p>", template.HTMLEscapeString(err.Error()))
	}
}

// Card is one service on the services page.
type Card struct {
	Name       string      `json:"name"`
	PublicPort int         `json:"public_port"`
	ListenPort int         `json:"listen_port"`
	Program    string      `json:"program,omitempty"`
	State      string      `json:"state,omitempty"` // the program's state, when known
	Dimmed     bool        `json:"dimmed"`
	Links      links.Links `json:"links"`
	File       string      `json:"file"`
	Error      string      `json:"error,omitempty"` // the registration is invalid or Caddy refused it
}

// cards builds the services. host is the host the browser used.
func (s *Server) cards(host string) []Card {
	st := s.Poller.Current()
	state := map[string]string{}
	for _, p := range st.Processes {
		state[p.Name] = p.State
		if _, ok := state[p.Group]; !ok || p.State == "RUNNING" {
			state[p.Group] = p.State
		}
	}
	refused := s.Caddy().Refused
	var out []Card
	for _, e := range s.Registrations() {
		if e.Reg == nil {
			out = append(out, Card{Name: "Invalid registration", File: e.File, Error: e.Err})
			continue
		}
		reg := *e.Reg
		c := Card{Name: reg.Name, PublicPort: reg.PublicPort, ListenPort: reg.ListenPort, Program: reg.Program,
			File: e.File, Links: s.Links.For(reg, host)}
		if reg.Program != "" {
			// Dimmed only for a program supervisord knows: a registration
			// naming one it does not run says nothing about the service.
			c.State = state[reg.Program]
			c.Dimmed = c.State != "" && c.State != "RUNNING"
		}
		if why, ok := refused[reg.PublicPort]; ok {
			c.Error = "not served: " + why
		}
		out = append(out, c)
	}
	return out
}

func requestHost(r *http.Request) string {
	h := r.Host
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	if strings.ContainsAny(h, "/?#@ ") {
		return ""
	}
	return h
}

func (s *Server) servicesPage(w http.ResponseWriter, r *http.Request, who auth.Who) {
	s.render(w, http.StatusOK, "services", s.page(r, who, "services", "Services", s.cards(requestHost(r))))
}

func (s *Server) apiServices(w http.ResponseWriter, r *http.Request, who auth.Who) {
	writeJSON(w, http.StatusOK, map[string]any{"services": nonNil(s.cards(requestHost(r)))})
}

func (s *Server) processesPage(w http.ResponseWriter, r *http.Request, who auth.Who) {
	s.render(w, http.StatusOK, "processes", s.page(r, who, "processes", "Processes", nil))
}

func (s *Server) logsPage(w http.ResponseWriter, r *http.Request, who auth.Who) {
	s.render(w, http.StatusOK, "logs", s.page(r, who, "logs", "Logs", s.logs()))
}

func (s *Server) logPage(w http.ResponseWriter, r *http.Request, who auth.Who) {
	name := r.PathValue("name")
	if _, ok := s.logPath(name); !ok {
		s.render(w, http.StatusNotFound, "logs", s.page(r, who, "logs", "Logs", s.logs()))
		return
	}
	s.render(w, http.StatusOK, "log", s.page(r, who, "logs", "Log: "+name, name))
}

func (s *Server) systemPage(w http.ResponseWriter, r *http.Request, who auth.Who) {
	info, _, _ := s.System.Wait(r.Context())
	gpus, gerr, _ := s.GPUs.Get()
	data := map[string]any{"Info": info, "GPUs": gpus, "GPUError": ""}
	if gerr != nil {
		data["GPUError"] = gerr.Error()
	}
	s.render(w, http.StatusOK, "system", s.page(r, who, "system", "System", data))
}

// loginData is the login form's.
type loginData struct {
	Next    string
	Message string
	User    string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := auth.SafeNext(r.URL.Query().Get("next"))
	if who := s.Auth.Check(r); who.OK {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusOK, "login", s.page(r, auth.Who{}, "login", "Log in", loginData{Next: next}))
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	next := auth.SafeNext(r.PostForm.Get("next"))
	user := r.PostForm.Get("user")
	w.Header().Set("Cache-Control", "no-store")
	c, retry, ok := s.Auth.Login(r, user, r.PostForm.Get("password"))
	switch {
	case ok:
		http.SetCookie(w, c)
		http.Redirect(w, r, next, http.StatusSeeOther)
	case retry > 0:
		secs := int((retry + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		s.render(w, http.StatusTooManyRequests, "login", s.page(r, auth.Who{}, "login", "Log in",
			loginData{Next: next, User: user, Message: fmt.Sprintf("Too many failed attempts. Try again in %d s.", secs)}))
	default:
		s.render(w, http.StatusUnauthorized, "login", s.page(r, auth.Who{}, "login", "Log in",
			loginData{Next: next, User: user, Message: "Wrong user name or password."}))
	}
}
