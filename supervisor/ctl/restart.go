package ctl

import "context"

func init() {
	register(&command{name: "restart", run: doRestart, help: func(c *controller) {
		c.output("restart <name>\t\tRestart a process")
		c.output("restart <gname>:*\tRestart all processes in a group")
		c.output("restart <name> <name>\tRestart multiple processes or groups")
		c.output("restart all\t\tRestart all processes")
		c.output("Note: restart does not reread config files. For that, see reread and update.")
	}})
}

func doRestart(c *controller, ctx context.Context, arg string) error {
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	if len(pySplit(arg)) == 0 {
		c.output("Error: restart requires a process name")
		c.exitStatus = exitGeneric
		commands["restart"].help(c)
		return nil
	}
	if err := doStop(c, ctx, arg); err != nil {
		return err
	}
	return doStart(c, ctx, arg)
}
