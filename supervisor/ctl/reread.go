package ctl

import (
	"context"
	"sort"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "reread", run: doReread, help: func(c *controller) {
		c.output("reread \t\t\tReload the daemon's configuration files without add/remove")
	}})
}

// formatChanges is Python's _formatChanges.
func (c *controller) formatChanges(added, changed, removed []string) {
	changes := map[string]string{}
	for _, n := range added {
		changes[n] = "available"
	}
	for _, n := range changed {
		changes[n] = "changed"
	}
	for _, n := range removed {
		changes[n] = "disappeared"
	}
	if len(changes) == 0 {
		c.output("No config updates to processes")
		return
	}
	names := make([]string, 0, len(changes))
	for n := range changes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c.output(n + ": " + changes[n])
	}
}

func doReread(c *controller, ctx context.Context, arg string) error {
	if arg != "" {
		c.output("Error: reread accepts no arguments")
		c.exitStatus = exitGeneric
		commands["reread"].help(c)
		return nil
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	added, changed, removed, err := s.ReloadConfig(ctx)
	if f, ok := faultOf(err); ok {
		c.exitStatus = exitGeneric
		switch f.Code {
		case client.FaultShutdownState:
			c.output("ERROR: supervisor shutting down")
		case client.FaultCantReread:
			c.output("ERROR: " + f.String)
		default:
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	c.formatChanges(added, changed, removed)
	return nil
}
