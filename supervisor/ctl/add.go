package ctl

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "add", run: doAdd, help: func(c *controller) {
		c.output("add <name> [...]\tActivates any updates in config for process/group")
	}})
}

func doAdd(c *controller, ctx context.Context, arg string) error {
	names := pySplit(arg)
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	for _, name := range names {
		err := s.AddProcessGroup(ctx, name)
		if f, ok := faultOf(err); ok {
			switch f.Code {
			case client.FaultShutdownState:
				c.output("ERROR: shutting down")
				c.exitStatus = exitGeneric
			case client.FaultAlreadyAdded:
				c.output("ERROR: process group already active")
			case client.FaultBadName:
				c.output("ERROR: no such process/group: " + name)
				c.exitStatus = exitGeneric
			default:
				c.exitStatus = exitGeneric
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		c.output(name + ": added process group")
	}
	return nil
}
