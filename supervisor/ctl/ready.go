package ctl

// ready (an extension): the container's readiness for Docker HEALTHCHECK
// and Kubernetes exec probes. Exit 0 when every autostart program is
// READY; otherwise each one that is not, with why, and exit 1.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "ready", run: doReady, extension: true, help: func(c *controller) {
		c.output("ready\t\t\tExit 0 if every autostart process is ready, else name those")
		c.output("\t\t\tthat are not and why, and exit 1.")
		c.output("ready --wait <secs>\tWait up to <secs> seconds for them to be ready.")
	}})
}

// readyPoll is how often ready --wait asks again.
const readyPoll = 250 * time.Millisecond

func doReady(c *controller, ctx context.Context, arg string) error {
	args := pySplit(arg)
	var wait time.Duration
	switch {
	case len(args) == 0:
	case len(args) == 2 && args[0] == "--wait":
		secs, err := strconv.ParseFloat(args[1], 64)
		if err != nil || secs < 0 || secs > 1e6 {
			c.output("Error: --wait takes a number of seconds, not " + pyRepr(args[1]))
			c.exitStatus = exitInvalidArgs
			return nil
		}
		wait = time.Duration(secs * float64(time.Second))
	default:
		c.output("Error: ready takes no names; use ready or ready --wait <secs>")
		c.exitStatus = exitInvalidArgs
		commands["ready"].help(c)
		return nil
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	for {
		r, err := s.GetReadiness(ctx)
		if code, ok := client.FaultCode(err); ok && code == client.FaultUnknownMethod {
			c.output("ERROR: this supervisord does not answer supervisor.getReadiness (Python supervisor has no readiness)")
			c.exitStatus = exitUnimplemented
			return nil
		}
		if err == nil && r.Ready {
			c.output("ready")
			c.exitStatus = exitSuccess
			return nil
		}
		if !time.Now().Before(deadline) {
			if err != nil {
				// Not reachable: say so as every command does.
				if up, uerr := c.upcheck(ctx); uerr != nil || !up {
					return uerr
				}
				return err
			}
			for _, p := range r.Processes {
				if p.Required && !p.Ready {
					c.output(fmt.Sprintf("not ready: %s (%s)", makeNamespec(p.Group, p.Name), strings.TrimSpace(p.Reason)))
				}
			}
			c.exitStatus = exitGeneric
			return nil
		}
		select {
		case <-time.After(min(readyPoll, time.Until(deadline))):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sayNeeds prints, before `start name`, the dependencies of name that are
// not ready, which supervisord starts (or waits for) first. It prints
// nothing for a process without dependencies, or for a supervisord that
// has no readiness (Python's), so that output stays Python's there.
func (c *controller) sayNeeds(ctx context.Context, s *client.Client, name string) {
	group, process, _ := splitNamespec(name)
	r, err := s.GetReadiness(ctx)
	if err != nil {
		return
	}
	byName := map[string]client.ProcessReadiness{}
	for _, p := range r.Processes {
		byName[makeNamespec(p.Group, p.Name)] = p
	}
	var waits []string
	for _, p := range r.Processes {
		if p.Group != group || p.Name != process {
			continue
		}
		for _, dep := range p.DependsOn {
			if q, ok := byName[dep]; ok && !q.Ready {
				waits = append(waits, fmt.Sprintf("%s (%s)", dep, q.StateName))
			}
		}
	}
	if len(waits) > 0 {
		c.output(makeNamespec(group, process) + ": starting after its dependencies: " + strings.Join(waits, ", "))
	}
}
