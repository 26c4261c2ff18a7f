package ctl

import "context"

func init() {
	register(&command{name: "version", run: doVersion, help: func(c *controller) {
		c.output("version\t\t\tShow the version of the remote supervisord process")
	}})
}

func doVersion(c *controller, ctx context.Context, arg string) error {
	if arg != "" {
		c.output("Error: version accepts no arguments")
		c.exitStatus = exitGeneric
		commands["version"].help(c)
		return nil
	}
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	v, err := s.Call(ctx, "supervisor.getSupervisorVersion")
	if err != nil {
		return err
	}
	c.output(pyStr(v))
	return nil
}
