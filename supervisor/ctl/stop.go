package ctl

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "stop", run: doStop, help: func(c *controller) {
		c.output("stop <name>\t\tStop a process")
		c.output("stop <gname>:*\t\tStop all processes in a group")
		c.output("stop <name> <name>\tStop multiple processes or groups")
		c.output("stop all\t\tStop all processes")
	}})
}

func doStop(c *controller, ctx context.Context, arg string) error {
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	names := pySplit(arg)
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		c.output("Error: stop requires a process name")
		c.exitStatus = exitGeneric
		commands["stop"].help(c)
		return nil
	}
	format := signalResult("stopped")
	if contains(names, "all") {
		results, err := s.StopAllProcesses(ctx, true)
		if err != nil {
			return err
		}
		return c.showResults(results, format, client.FaultNotRunning)
	}
	for _, name := range names {
		group, process, hasProcess := splitNamespec(name)
		if !hasProcess {
			results, err := s.StopProcessGroup(ctx, group, true)
			if f, ok := faultOf(err); ok {
				c.exitStatus = exitGeneric
				if f.Code == client.FaultBadName {
					c.output(group + ": ERROR (no such group)")
					continue
				}
				return err
			}
			if err != nil {
				return err
			}
			if err := c.showResults(results, format, client.FaultNotRunning); err != nil {
				return err
			}
			continue
		}
		if err := c.showOne(s.StopProcess(ctx, name, true), group, process, format, client.FaultNotRunning, "stopped"); err != nil {
			return err
		}
	}
	return nil
}
