package ctl

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "clear", run: doClear, help: func(c *controller) {
		c.output("clear <name>\t\tClear a process' log files.")
		c.output("clear <name> <name>\tClear multiple process' log files")
		c.output("clear all\t\tClear all process' log files")
	}})
}

// clearResult is Python's _clearresult.
func clearResult(r client.Result) (string, error) {
	name := makeNamespec(r.Group, r.Name)
	switch r.Status {
	case client.FaultBadName:
		return name + ": ERROR (no such process)", nil
	case client.FaultFailed:
		return name + ": ERROR (failed)", nil
	case client.FaultSuccess:
		return name + ": cleared", nil
	}
	return "", unknownResult(r.Status, name, 1260)
}

func doClear(c *controller, ctx context.Context, arg string) error {
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	names := pySplit(arg)
	if len(names) == 0 {
		c.output("Error: clear requires a process name")
		c.exitStatus = exitGeneric
		commands["clear"].help(c)
		return nil
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	if contains(names, "all") {
		results, err := s.ClearAllProcessLogs(ctx)
		if err != nil {
			return err
		}
		return c.showResults(results, clearResult, noFault)
	}
	for _, name := range names {
		group, process, hasProcess := splitNamespec(name)
		err := s.ClearProcessLogs(ctx, name)
		if f, ok := faultOf(err); ok {
			line, err := clearResult(faultResult(f, group, process, hasProcess))
			if err != nil {
				return err
			}
			c.output(line)
			c.setExitFromFault(f.Code, noFault)
			continue
		}
		if err != nil {
			return err
		}
		c.output(namespecOf(name) + ": cleared")
	}
	return nil
}
