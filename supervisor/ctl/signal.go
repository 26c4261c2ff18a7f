package ctl

import (
	"context"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "signal", run: doSignal, help: func(c *controller) {
		c.output("signal <signal name> <name>\t\tSignal a process")
		c.output("signal <signal name> <gname>:*\t\tSignal all processes in a group")
		c.output("signal <signal name> <name> <name>\tSignal multiple processes or groups")
		c.output("signal <signal name> all\t\tSignal all processes")
	}})
}

// signalResult is Python's _signalresult; success is the word for a
// process that took the action.
func signalResult(success string) func(client.Result) (string, error) {
	return func(r client.Result) (string, error) {
		name := makeNamespec(r.Group, r.Name)
		switch r.Status {
		case client.FaultBadName:
			return name + ": ERROR (no such process)", nil
		case client.FaultBadSignal:
			return name + ": ERROR (bad signal name)", nil
		case client.FaultNotRunning:
			return name + ": ERROR (not running)", nil
		case client.FaultSuccess:
			return name + ": " + success, nil
		case client.FaultFailed:
			return r.Description, nil
		}
		return "", unknownResult(r.Status, name, 835)
	}
}

func doSignal(c *controller, ctx context.Context, arg string) error {
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	args := pySplit(arg)
	if len(args) < 2 {
		c.output("Error: signal requires a signal name and a process name")
		commands["signal"].help(c)
		c.exitStatus = exitGeneric
		return nil
	}
	sig, names := args[0], args[1:]
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	format := signalResult("signalled")
	if contains(names, "all") {
		results, err := s.SignalAllProcesses(ctx, sig)
		if err != nil {
			return err
		}
		return c.showResults(results, format, noFault)
	}
	for _, name := range names {
		group, process, hasProcess := splitNamespec(name)
		if !hasProcess {
			results, err := s.SignalProcessGroup(ctx, group, sig)
			if f, ok := faultOf(err); ok && f.Code == client.FaultBadName {
				c.output(group + ": ERROR (no such group)")
				c.exitStatus = exitGeneric
				continue
			}
			if err != nil {
				return err
			}
			if err := c.showResults(results, format, noFault); err != nil {
				return err
			}
			continue
		}
		if err := c.showOne(s.SignalProcess(ctx, name, sig), group, process, format, noFault, "signalled"); err != nil {
			return err
		}
	}
	return nil
}
