package ctl

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "pid", run: doPid, help: func(c *controller) {
		c.output("pid\t\t\tGet the PID of supervisord.")
		c.output("pid <name>\t\tGet the PID of a single child process by name.")
		c.output("pid all\t\t\tGet the PID of every child process, one per line.")
	}})
}

func doPid(c *controller, ctx context.Context, arg string) error {
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	names := pySplit(arg)
	switch {
	case len(names) == 0:
		v, err := s.Call(ctx, "supervisor.getPID")
		if err != nil {
			return err
		}
		c.output(pyStr(v))
	case contains(names, "all"):
		infos, err := s.GetAllProcessInfo(ctx)
		if err != nil {
			return err
		}
		for _, info := range infos {
			c.output(itoa(info.PID))
		}
	default:
		for _, name := range names {
			info, err := s.GetProcessInfo(ctx, name)
			if f, ok := faultOf(err); ok {
				c.exitStatus = exitGeneric
				if f.Code == client.FaultBadName {
					c.output("No such process " + name)
					continue
				}
				return err
			}
			if err != nil {
				return err
			}
			c.output(itoa(info.PID))
			if info.PID == 0 {
				c.exitStatus = exitNotRunning
			}
		}
	}
	return nil
}
