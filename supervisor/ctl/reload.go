package ctl

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "reload", run: doReload, help: func(c *controller) {
		c.output("reload \t\tRestart the remote supervisord.")
	}})
}

func doReload(c *controller, ctx context.Context, arg string) error {
	if arg != "" {
		c.output("Error: reload accepts no arguments")
		c.exitStatus = exitGeneric
		commands["reload"].help(c)
		return nil
	}
	really, err := c.confirm(ctx, "Really restart the remote supervisord process y/N? ", srcReloadPrompt)
	if err != nil || !really {
		return err
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	err = s.Restart(ctx)
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
	c.output("Restarted supervisord")
	return nil
}
