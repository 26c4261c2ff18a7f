package ctl

import (
	"context"
	"fmt"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "avail", run: doAvail, help: func(c *controller) {
		c.output("avail\t\t\tDisplay all configured processes")
	}})
}

// formatConfigInfo is Python's _formatConfigInfo.
func formatConfigInfo(ci client.ConfigInfo) string {
	inuse, autostart := "avail", "manual"
	if ci.InUse {
		inuse = "in use"
	}
	if ci.Autostart {
		autostart = "auto"
	}
	return padRight(makeNamespec(ci.Group, ci.Name), 32) + " " + padRight(inuse, 9) + " " +
		padRight(autostart, 9) + " " + fmt.Sprintf("%d:%d", ci.GroupPrio, ci.ProcessPrio)
}

func doAvail(c *controller, ctx context.Context, arg string) error {
	if arg != "" {
		c.output("Error: avail accepts no arguments")
		c.exitStatus = exitGeneric
		commands["avail"].help(c)
		return nil
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	infos, err := s.GetAllConfigInfo(ctx)
	if f, ok := faultOf(err); ok {
		c.exitStatus = exitGeneric
		if f.Code == client.FaultShutdownState {
			c.output("ERROR: supervisor shutting down")
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	for _, ci := range infos {
		c.output(formatConfigInfo(ci))
	}
	return nil
}
