package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
	"github.com/gpudesk/runtime/supervisor/client"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// Supervisor is what the portal asks supervisord (a *client.Client over
// the unix socket).
type Supervisor interface {
	GetAllProcessInfo(ctx context.Context) ([]client.ProcessInfo, error)
	StartProcess(ctx context.Context, name string, wait bool) error
	StopProcess(ctx context.Context, name string, wait bool) error
	Call(ctx context.Context, method string, params ...any) (any, error)
}

// Process is one program as the page and the API show it.
type Process struct {
	Name        string `json:"name"` // group:name, or name when they are equal
	Group       string `json:"group"`
	State       string `json:"state"`
	Description string `json:"description"`
	PID         int    `json:"pid"`
	Start       int64  `json:"start"`  // Unix seconds; 0 when never started
	Uptime      int64  `json:"uptime"` // seconds running; 0 when not running
	Protected   bool   `json:"protected"`
	Running     bool   `json:"running"`
	Log         string `json:"-"`
	ErrLog      string `json:"-"`
}

// Readiness is supervisor.getReadiness's answer as far as the portal
// understands it.
type Readiness struct {
	// Known is false when the daemon has no getReadiness (Python's, or ours
	// before issue 13) or it could not be asked.
	Known bool `json:"known"`
	Ready bool `json:"ready"`
	// Waiting are the programs not ready yet, in start order, with why.
	Waiting []Waiting `json:"waiting,omitempty"`
}

// Waiting is one program that is not ready.
type Waiting struct {
	Name   string `json:"name"`
	Reason string `json:"reason,omitempty"`
}

// Startup is the box's start-up state, shown on every page.
type Startup struct {
	Boot       *bootstatus.Status `json:"boot,omitempty"`
	BootError  string             `json:"boot_error,omitempty"`
	Readiness  Readiness          `json:"readiness"`
	FirstWait  string             `json:"first_not_ready,omitempty"`
	Phase      string             `json:"phase"` // booting, provisioning, starting, ready, failed, unknown
	Summary    string             `json:"summary"`
	DaemonDown string             `json:"daemon_error,omitempty"`
}

// State is the live picture: processes and start-up.
type State struct {
	Processes []Process `json:"processes"`
	Startup   Startup   `json:"startup"`
	Error     string    `json:"error,omitempty"` // supervisord cannot be reached
	// ServicesVersion changes whenever the registrations do (the services
	// page then asks /api/services again).
	ServicesVersion int64     `json:"services_version"`
	At              time.Time `json:"at"`
}

// Poller asks supervisord every Every and publishes changes.
type Poller struct {
	Sup       Supervisor
	BootFile  string
	Protected map[string]bool
	Every     time.Duration
	Timeout   time.Duration
	Events    *Broadcaster

	mu          sync.Mutex
	cur         State
	servicesVer int64
	noReadiness time.Time // when getReadiness was found missing
	kick        chan struct{}
}

// NewPoller returns a Poller.
func NewPoller(sup Supervisor, bootFile string, protected map[string]bool) *Poller {
	return &Poller{Sup: sup, BootFile: bootFile, Protected: protected, Every: time.Second,
		Timeout: 5 * time.Second, Events: NewBroadcaster(), kick: make(chan struct{}, 1)}
}

// Current returns the last state.
func (p *Poller) Current() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// ServicesChanged says the registrations changed.
func (p *Poller) ServicesChanged() {
	p.mu.Lock()
	p.servicesVer++
	p.mu.Unlock()
	p.Kick()
}

// Kick asks for a poll now (after an action).
func (p *Poller) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Run polls until ctx is done.
func (p *Poller) Run(ctx context.Context) {
	t := time.NewTicker(p.Every)
	defer t.Stop()
	var last []byte
	for {
		st := p.poll(ctx)
		cmp := st
		cmp.At = time.Time{}
		b, _ := json.Marshal(cmp)
		p.mu.Lock()
		p.cur = st
		p.mu.Unlock()
		if string(b) != string(last) {
			last = b
			full, _ := json.Marshal(st)
			p.Events.Publish(full)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.kick:
		}
	}
}

func (p *Poller) poll(ctx context.Context) State {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	now := time.Now()
	st := State{At: now}
	infos, err := p.Sup.GetAllProcessInfo(ctx)
	if err != nil {
		st.Error = fmt.Sprintf("supervisord cannot be reached: %v", err)
	}
	for _, in := range infos {
		name := in.Name
		if in.Group != in.Name {
			name = in.Group + ":" + in.Name
		}
		pr := Process{Name: name, Group: in.Group, State: in.StateName, Description: in.Description,
			PID: in.PID, Start: in.Start, Running: in.State == client.StateRunning,
			Protected: p.Protected[in.Name] || p.Protected[in.Group], Log: in.StdoutLogfile, ErrLog: in.StderrLogfile}
		if pr.Log == "" {
			pr.Log = in.Logfile
		}
		if pr.Running && in.Start > 0 && in.Now >= in.Start {
			pr.Uptime = in.Now - in.Start
		}
		st.Processes = append(st.Processes, pr)
	}
	sort.SliceStable(st.Processes, func(i, j int) bool { return st.Processes[i].Name < st.Processes[j].Name })
	st.Startup = p.startup(ctx, st, err)
	p.mu.Lock()
	st.ServicesVersion = p.servicesVer
	p.mu.Unlock()
	return st
}

func (p *Poller) startup(ctx context.Context, st State, daemonErr error) Startup {
	var s Startup
	if b, err := bootstatus.Read(p.BootFile); err == nil {
		s.Boot = &b
	} else if !errors.Is(err, fs.ErrNotExist) {
		s.BootError = err.Error()
	}
	if daemonErr == nil {
		s.Readiness = p.readiness(ctx)
	} else {
		s.DaemonDown = st.Error
	}
	if len(s.Readiness.Waiting) > 0 {
		s.FirstWait = s.Readiness.Waiting[0].Name
	} else if !s.Readiness.Known {
		for _, pr := range st.Processes { // without readiness: the first program not RUNNING that should be
			if pr.State == "STARTING" || pr.State == "BACKOFF" || pr.State == "FATAL" {
				s.FirstWait = pr.Name
				break
			}
		}
	}
	switch {
	case s.Boot != nil && s.Boot.Phase == bootstatus.PhaseFailed:
		s.Phase, s.Summary = "failed", "Boot failed: "+first(s.Boot.Errors)
	case s.Boot != nil && s.Boot.Phase == bootstatus.PhaseBoot:
		s.Phase, s.Summary = "booting", "Booting…"
	case s.Boot != nil && s.Boot.Provisioning != nil && s.Boot.Provisioning.State == "running":
		s.Phase, s.Summary = "provisioning", "Provisioning is running"
	case s.Boot != nil && s.Boot.Provisioning != nil && s.Boot.Provisioning.State == "failed":
		s.Phase, s.Summary = "failed", "Provisioning failed: "+s.Boot.Provisioning.Error
	case s.DaemonDown != "":
		s.Phase, s.Summary = "unknown", s.DaemonDown
	case s.FirstWait != "":
		s.Phase, s.Summary = "starting", "Waiting for "+s.FirstWait
		if len(s.Readiness.Waiting) > 0 && s.Readiness.Waiting[0].Reason != "" {
			s.Summary += ": " + s.Readiness.Waiting[0].Reason
		}
	case s.Readiness.Known && s.Readiness.Ready, !s.Readiness.Known:
		s.Phase, s.Summary = "ready", "Ready"
	default:
		s.Phase, s.Summary = "starting", "Starting"
	}
	return s
}

func first(l []string) string {
	if len(l) == 0 {
		return "see /run/boot/status.json"
	}
	return l[0]
}

// readiness asks supervisor.getReadiness. A daemon without it answers
// UNKNOWN_METHOD; it is asked again only every minute.
func (p *Poller) readiness(ctx context.Context) Readiness {
	p.mu.Lock()
	skip := !p.noReadiness.IsZero() && time.Since(p.noReadiness) < time.Minute
	p.mu.Unlock()
	if skip {
		return Readiness{}
	}
	v, err := p.Sup.Call(ctx, "supervisor.getReadiness")
	if err != nil {
		var f *xmlrpc.Fault
		if errors.As(err, &f) && f.Code == client.FaultUnknownMethod {
			p.mu.Lock()
			p.noReadiness = time.Now()
			p.mu.Unlock()
		}
		return Readiness{}
	}
	return ParseReadiness(v)
}

// ParseReadiness reads getReadiness's answer: a struct with "ready"
// (bool) and a list of programs under "processes" or "programs", each
// with "name" (and "group"), "ready" (bool) and a reason under "reason",
// "note" or "why". Anything else leaves Known false.
func ParseReadiness(v any) Readiness {
	m, ok := v.(map[string]any)
	if !ok {
		return Readiness{}
	}
	ready, ok := m["ready"].(bool)
	if !ok {
		return Readiness{}
	}
	r := Readiness{Known: true, Ready: ready}
	list, _ := m["processes"].([]any)
	if list == nil {
		list, _ = m["programs"].([]any)
	}
	for _, it := range list {
		pm, ok := it.(map[string]any)
		if !ok {
			continue
		}
		if rd, ok := pm["ready"].(bool); ok && rd {
			continue
		}
		if req, ok := pm["required"].(bool); ok && !req {
			continue // autostart=false, or stopped on purpose: not waited for
		}
		name, _ := pm["name"].(string)
		if g, _ := pm["group"].(string); g != "" && g != name {
			name = g + ":" + name
		}
		w := Waiting{Name: name}
		for _, k := range []string{"reason", "note", "why", "description"} {
			if s, ok := pm[k].(string); ok && s != "" {
				w.Reason = s
				break
			}
		}
		r.Waiting = append(r.Waiting, w)
	}
	return r
}
