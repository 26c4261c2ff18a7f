package ctl

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "maintail", run: doMaintail, help: func(c *controller) {
		c.output("maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\n" +
			"maintail -100\tlast 100 *bytes* of supervisord main log file\n" +
			"maintail\tlast 1600 *bytes* of supervisor main log file\n")
	}})
}

func doMaintail(c *controller, ctx context.Context, arg string) error {
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	args := pySplit(arg)
	offset := -1600
	var overflow error
	switch {
	case len(args) > 1:
		c.output("Error: too many arguments")
		c.exitStatus = exitGeneric
		commands["maintail"].help(c)
		return nil
	case len(args) == 1:
		if args[0][0] != '-' {
			c.output("Error: bad argument " + args[0])
			c.exitStatus = exitGeneric
			return nil
		}
		what := args[0][1:]
		if what == "f" {
			return c.tailf(ctx, client.MainLogTailPath)
		}
		var ok bool
		if offset, ok, overflow = byteCount(what); !ok {
			c.output("Error: bad argument " + args[0])
			c.exitStatus = exitGeneric
			return nil
		}
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	if overflow != nil {
		return overflow
	}
	out, err := s.ReadLog(ctx, offset, 0)
	if f, ok := faultOf(err); ok {
		c.exitStatus = exitGeneric
		switch f.Code {
		case client.FaultNoFile:
			c.output("supervisord: ERROR (no log file)")
		case client.FaultFailed:
			c.output("supervisord: ERROR (unknown error reading log)")
		default:
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	c.output(out)
	return nil
}
