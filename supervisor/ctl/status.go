package ctl

import (
	"context"
	"strconv"
	"unicode/utf8"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "status", run: doStatus, help: func(c *controller) {
		c.output("status <name>\t\tGet status for a single process")
		c.output("status <gname>:*\tGet status for all processes in a group")
		c.output("status <name> <name>\tGet status for multiple named processes")
		c.output("status\t\t\tGet all process status info")
	}})
}

// showStatuses prints the status table: the name column is as wide as the
// longest name (at least 30) plus 3, the state column 10.
func (c *controller) showStatuses(infos []client.ProcessInfo) {
	maxlen := 30
	specs := make([]string, len(infos))
	for i, info := range infos {
		specs[i] = makeNamespec(info.Group, info.Name)
		if n := utf8.RuneCountInString(specs[i]); n > maxlen {
			maxlen = n
		}
	}
	for i, info := range infos {
		c.output(padRight(specs[i], maxlen+3) + padRight(info.StateName, 10) + info.Description)
	}
}

func doStatus(c *controller, ctx context.Context, arg string) error {
	up, err := c.upcheck(ctx)
	if err != nil {
		return err
	}
	if !up {
		c.exitStatus = statusUnknown
		return nil
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	all, err := s.GetAllProcessInfo(ctx)
	if err != nil {
		return err
	}
	names := pySplit(arg)
	matching := all
	if len(names) > 0 && !contains(names, "all") {
		matching = nil
		for _, name := range names {
			group, process, hasProcess := splitNamespec(name)
			bad := true
			for _, info := range all {
				if info.Group == group && (!hasProcess || info.Name == process) {
					bad = false
					matching = append(matching, info)
				}
			}
			if bad {
				if hasProcess {
					c.output(name + ": ERROR (no such process)")
				} else {
					c.output(group + ": ERROR (no such group)")
				}
				c.exitStatus = statusUnknown
			}
		}
	}
	c.showStatuses(matching)
	for _, info := range matching {
		if client.Stopped(info.State) {
			c.exitStatus = statusNotRunning
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// itoa is str() of an int.
func itoa(n int) string { return strconv.Itoa(n) }
