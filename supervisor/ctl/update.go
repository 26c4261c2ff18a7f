package ctl

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "update", run: doUpdate, help: func(c *controller) {
		c.output("update\t\t\tReload config and add/remove as necessary, and will restart affected programs")
		c.output("update all\t\tReload config and add/remove as necessary, and will restart affected programs")
		c.output("update <gname> [...]\tUpdate specific groups")
	}})
}

func doUpdate(c *controller, ctx context.Context, arg string) error {
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	added, changed, removed, err := s.ReloadConfig(ctx)
	if f, ok := faultOf(err); ok {
		c.exitStatus = exitGeneric
		if f.Code == client.FaultShutdownState {
			c.output("ERROR: already shutting down")
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	// The groups named, in Python's set iteration order for the error
	// messages (which only matters with several bad names).
	valid := pySet(pySplit(arg))
	if contains(valid, "all") {
		valid = nil
	}
	if len(valid) > 0 {
		infos, err := s.GetAllProcessInfo(ctx)
		if err != nil {
			return err
		}
		groups := map[string]bool{}
		for _, info := range infos {
			groups[info.Group] = true
		}
		for _, g := range added {
			groups[g] = true
		}
		for _, g := range valid {
			if !groups[g] {
				c.output("ERROR: no such group: " + g)
				c.exitStatus = exitGeneric
			}
		}
	}
	wanted := func(g string) bool { return len(valid) == 0 || contains(valid, g) }
	for _, g := range removed {
		if !wanted(g) {
			continue
		}
		results, err := s.StopProcessGroup(ctx, g, true)
		if err != nil {
			return err
		}
		c.output(g + ": stopped")
		failed := false
		for _, r := range results {
			if r.Status == client.FaultFailed {
				failed = true
			}
		}
		if failed {
			c.output(g + ": has problems; not removing")
			c.exitStatus = exitGeneric
			continue
		}
		if err := s.RemoveProcessGroup(ctx, g); err != nil {
			return err
		}
		c.output(g + ": removed process group")
	}
	for _, g := range changed {
		if !wanted(g) {
			continue
		}
		if _, err := s.StopProcessGroup(ctx, g, true); err != nil {
			return err
		}
		c.output(g + ": stopped")
		if err := s.RemoveProcessGroup(ctx, g); err != nil {
			return err
		}
		if err := s.AddProcessGroup(ctx, g); err != nil {
			return err
		}
		c.output(g + ": updated process group")
	}
	for _, g := range added {
		if !wanted(g) {
			continue
		}
		if err := s.AddProcessGroup(ctx, g); err != nil {
			return err
		}
		c.output(g + ": added process group")
	}
	return nil
}

// pySet returns the distinct strings of list. Python iterates a set of
// strings in an order that depends on its per-process hash seed, so the
// order of several "no such group" errors is not reproducible even between
// two runs of Python's supervisorctl; first-seen order is as good as any.
func pySet(list []string) []string {
	var out []string
	for _, s := range list {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
