package rpc

// supervisor.getReadiness (an extension): the container's one answer to
// "is this box ready", for the portal, supervisorctl ready and probes.

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/daemon"
)

// readinessMethod is registered with the supervisor.* methods.
func (s *Server) readinessMethod() *method {
	return &method{sig: []string{"struct"}, help: "Return whether every autostart process is ready, and each process's readiness: why not, what it waits for, and how long it took", fn: s.getReadiness}
}

// getReadiness answers:
//
//	ready       boolean: every autostart process is READY (RUNNING with its
//	            ready check passing) or exited as expected
//	processes   array of structs, in start order:
//	  name, group, statename (string), state (int)
//	  ready (boolean), required (boolean: autostart)
//	  reason (string: why not ready, "" when ready)
//	  depends_on (array of namespecs it waits for)
//	  ready_at (int: unix time it last became READY, 0 when not)
//	  time_to_ready (double: seconds from its spawn to READY, 0 when not)
//	  since_boot (double: seconds from supervisord's start to READY)
func (s *Server) getReadiness(ctx context.Context, _ []any) (any, error) {
	var r daemon.Readiness
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		r = s.d.Readiness()
		return nil
	})
	if err != nil {
		return nil, err
	}
	procs := []any{}
	for _, p := range r.Processes {
		needs := []any{}
		for _, n := range p.Needs {
			needs = append(needs, n)
		}
		procs = append(procs, map[string]any{
			"name": p.Name, "group": p.Group,
			"statename": p.State.String(), "state": int(p.State),
			"ready": p.Ready, "required": p.Required, "reason": p.Reason,
			"depends_on": needs, "ready_at": capped(p.ReadyAt),
			"time_to_ready": p.TimeToReady.Seconds(), "since_boot": p.SinceBoot.Seconds(),
		})
	}
	return map[string]any{"ready": r.Ready, "processes": procs}, nil
}
