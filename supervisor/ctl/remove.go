package ctl

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "remove", run: doRemove, help: func(c *controller) {
		c.output("remove <name> [...]\tRemoves process/group from active config")
	}})
}

func doRemove(c *controller, ctx context.Context, arg string) error {
	names := pySplit(arg)
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	for _, name := range names {
		err := s.RemoveProcessGroup(ctx, name)
		if f, ok := faultOf(err); ok {
			c.exitStatus = exitGeneric
			switch f.Code {
			case client.FaultStillRunning:
				c.output("ERROR: process/group still running: " + name)
			case client.FaultBadName:
				c.output("ERROR: no such process/group: " + name)
			default:
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		c.output(name + ": removed process group")
	}
	return nil
}
