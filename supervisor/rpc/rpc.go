// Package rpc is supervisor's XML-RPC interface over the daemon: every
// supervisor.* and system.* method of Python supervisor 4.2.5, with its
// parameters, return shapes, sort orders, wait semantics and faults. This
// is the only place where domain errors become fault codes.
package rpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/daemon"
	"github.com/gpudesk/runtime/supervisor/process"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// APIVersion is what getAPIVersion returns.
const APIVersion = "3.0"

// SupervisorVersion is what getSupervisorVersion returns.
const SupervisorVersion = "4.2.5"

// Server answers XML-RPC calls for one daemon.
type Server struct {
	d       *daemon.Daemon
	methods map[string]*method
}

type method struct {
	// sig is the return type then the parameter types, for
	// system.methodSignature; names are the parameter names.
	sig   []string
	names []string
	help  string
	// optional is how many trailing parameters may be left out.
	optional int
	fn       func(ctx context.Context, args []any) (any, error)
}

// New returns the RPC server of d. The supervisor namespace is served under
// the name of each [rpcinterface:x] section (normally "supervisor"), as
// Python does; system is always there.
func New(d *daemon.Daemon) *Server {
	s := &Server{d: d, methods: map[string]*method{}}
	for _, r := range d.Config().RPCInterfaces {
		for name, m := range s.supervisorMethods() {
			s.methods[r.Name+"."+name] = m
		}
	}
	for name, m := range s.systemMethods() {
		s.methods["system."+name] = m
	}
	return s
}

// Handler returns the HTTP handler: POST /RPC2 for XML-RPC, GET
// /logtail/<name>[/stderr] and /mainlogtail for streaming logs, GET / for
// a plain-text status.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	rpc := xmlrpc.Handler(s.Call, xmlrpc.DefaultLimits)
	mux.Handle("/RPC2", rpc)
	mux.Handle("/RPC2/", rpc)
	mux.HandleFunc("/logtail/", s.logtail)
	mux.HandleFunc("/mainlogtail", s.mainlogtail)
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /index.html", s.index)
	return mux
}

// Call runs one method, as supervisor's traverse does: "ns.method" with
// exactly one dot, no leading underscore, the right number of parameters.
func (s *Server) Call(ctx context.Context, name string, params []any) (any, error) {
	parts := strings.Split(name, ".")
	if len(parts) != 2 || strings.HasPrefix(parts[1], "_") {
		return nil, fault(UnknownMethod)
	}
	m, ok := s.methods[name]
	if !ok {
		return nil, fault(UnknownMethod)
	}
	n := len(m.sig) - 1
	if len(params) > n || len(params) < n-m.optional {
		return nil, fault(IncorrectParameters)
	}
	return m.fn(ctx, params)
}

// on runs fn on the daemon's event loop. A panic in fn is recovered there
// and returned as an error (a 500), with a log line: a bug reached through
// one call must not take the loop, and with it every process, down.
func (s *Server) on(ctx context.Context, fn func() error) error {
	var err error
	if e := s.d.Do(ctx, func() {
		defer func() {
			if v := recover(); v != nil {
				s.d.Logger().Log(config.LevelCritical, "XML-RPC call panicked on the event loop: %v\n%s", v, debug.Stack())
				err = fmt.Errorf("internal error: %v", v)
			}
		}()
		err = fn()
	}); e != nil {
		if errors.Is(e, daemon.ErrStopped) {
			return fault(ShutdownState)
		}
		return e
	}
	return err
}

// checkMood is supervisor's _update: every supervisor.* call but a few
// answers SHUTDOWN_STATE once a shutdown or restart has begun. Runs on the
// loop.
func (s *Server) checkMood() error {
	if s.d.Mood() < process.MoodRunning {
		return fault(ShutdownState)
	}
	return nil
}

// waitFor re-runs check on the loop after every state change until it is
// done or fails.
func (s *Server) waitFor(ctx context.Context, check func() (bool, error)) error {
	for {
		changed := s.d.Changed()
		var done bool
		if err := s.on(ctx, func() (err error) { done, err = check(); return }); err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// target is a process with its group, as the group operations see it.
type target struct {
	g *daemon.Group
	p *process.Process
}

func (t target) namespec() string { return daemon.MakeNamespec(t.g.Config.Name, t.p.Name()) }

// byPriority returns the processes of groups in priority order (groups by
// priority, then each group's processes by priority), as supervisor's
// _getAllProcesses(lexical=False).
func byPriority(groups []*daemon.Group) []target {
	gs := append([]*daemon.Group(nil), groups...)
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].Config.Priority < gs[j].Config.Priority })
	var out []target
	for _, g := range gs {
		out = append(out, groupTargets(g)...)
	}
	return out
}

func groupTargets(g *daemon.Group) []target {
	ps := append([]*process.Process(nil), g.Processes...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Config.Priority < ps[j].Config.Priority })
	out := make([]target, len(ps))
	for i, p := range ps {
		out[i] = target{g, p}
	}
	return out
}

// lexical returns every process sorted by group name then process name.
func lexical(groups []*daemon.Group) []target {
	gs := append([]*daemon.Group(nil), groups...)
	sort.Slice(gs, func(i, j int) bool { return gs[i].Config.Name < gs[j].Config.Name })
	var out []target
	for _, g := range gs {
		ps := append([]*process.Process(nil), g.Processes...)
		sort.Slice(ps, func(i, j int) bool { return ps[i].Name() < ps[j].Name() })
		for _, p := range ps {
			out = append(out, target{g, p})
		}
	}
	return out
}

// lookup resolves a namespec on the loop; a bare group gives p == nil.
func (s *Server) lookup(name string) (*daemon.Group, *process.Process, error) {
	g, p, err := s.d.Process(name)
	if errors.Is(err, daemon.ErrNoGroup) {
		return nil, nil, fault(BadName, name)
	}
	return g, p, err
}

// result is one entry of a group operation's answer.
func result(t target, err error) map[string]any {
	r := map[string]any{"name": t.p.Name(), "group": t.g.Config.Name, "status": Success, "description": "OK"}
	var f *xmlrpc.Fault
	if errors.As(err, &f) {
		r["status"], r["description"] = f.Code, f.String
	}
	return r
}

// pending is the rest of an operation that waits: run on the loop until
// it reports done or fails.
type pending func() (bool, error)

// allFunc is supervisor's make_allfunc: op on every target passing pred;
// immediate answers first, then the waiting ones as they finish.
func (s *Server) allFunc(ctx context.Context, targets []target, pred func(*process.Process) bool, op func(t target) (pending, error)) ([]any, error) {
	results := []any{}
	type waiting struct {
		t     target
		check pending
	}
	var waits []waiting
	if err := s.on(ctx, func() error {
		for _, t := range targets {
			if !pred(t.p) {
				continue
			}
			check, err := op(t)
			switch {
			case err != nil:
				results = append(results, result(t, err))
			case check != nil:
				waits = append(waits, waiting{t, check})
			default:
				results = append(results, result(t, nil))
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for len(waits) > 0 {
		changed := s.d.Changed()
		if err := s.on(ctx, func() error {
			left := waits[:0]
			for _, w := range waits {
				done, err := w.check()
				switch {
				case err != nil:
					results = append(results, result(w.t, err))
				case done:
					results = append(results, result(w.t, nil))
				default:
					left = append(left, w)
				}
			}
			waits = left
			return nil
		}); err != nil {
			return nil, err
		}
		if len(waits) == 0 {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// Let the other processes of the batch catch up, so that those
		// finishing together are reported in order, as supervisor's
		// 50 ms passes do.
		select {
		case <-time.After(batchDelay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return results, nil
}

// batchDelay is supervisor's delay between passes over a group operation.
const batchDelay = 50 * time.Millisecond

func isRunning(p *process.Process) bool {
	switch p.State() {
	case process.Running, process.Backoff, process.Starting:
		return true
	}
	return false
}

func isSignallable(p *process.Process) bool {
	switch p.State() {
	case process.Running, process.Starting, process.Stopping:
		return true
	}
	return false
}
