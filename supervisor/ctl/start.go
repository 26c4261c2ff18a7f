package ctl

import (
	"context"
	"fmt"

	"github.com/gpudesk/runtime/supervisor/client"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

func init() {
	register(&command{name: "start", run: doStart, help: func(c *controller) {
		c.output("start <name>\t\tStart a process")
		c.output("start <gname>:*\t\tStart all processes in a group")
		c.output("start <name> <name>\tStart multiple processes or groups")
		c.output("start all\t\tStart all processes")
	}})
}

// startResult is Python's _startresult.
func startResult(r client.Result) (string, error) {
	name := makeNamespec(r.Group, r.Name)
	switch r.Status {
	case client.FaultBadName:
		return name + ": ERROR (no such process)", nil
	case client.FaultNoFile:
		return name + ": ERROR (no such file)", nil
	case client.FaultNotExecutable:
		return name + ": ERROR (file is not executable)", nil
	case client.FaultAlreadyStarted:
		return name + ": ERROR (already started)", nil
	case client.FaultSpawnError:
		return name + ": ERROR (spawn error)", nil
	case client.FaultAbnormalTermination:
		return name + ": ERROR (abnormal termination)", nil
	case client.FaultSuccess:
		return name + ": started", nil
	}
	return "", unknownResult(r.Status, name, 761)
}

// unknownResult is the ValueError Python raises for a result code it does
// not know.
func unknownResult(code int, name string, line int) error {
	return newPyException("ValueError", fmt.Sprintf("Unknown result code %d for %s", code, name),
		[2]any{supervisorPythonDir + "/supervisorctl.py", line}, nil)
}

// faultResult is the result dict Python builds from a fault on a single
// process.
func faultResult(f *xmlrpc.Fault, group, process string, hasProcess bool) client.Result {
	if !hasProcess {
		process = "None"
	}
	return client.Result{Name: process, Group: group, Status: f.Code, Description: f.String}
}

// showResults prints each result of a group or "all" action and sets the
// exit status from it.
func (c *controller) showResults(results []client.Result, format func(client.Result) (string, error), ignored int) error {
	for _, r := range results {
		line, err := format(r)
		if err != nil {
			return err
		}
		c.output(line)
		c.setExitFromFault(r.Status, ignored)
	}
	return nil
}

// showOne prints the outcome of an action on one process: a fault as
// Python formats it (and its exit status), or "name: <done>".
func (c *controller) showOne(err error, group, process string, format func(client.Result) (string, error), ignored int, done string) error {
	if f, ok := faultOf(err); ok {
		return c.showResults([]client.Result{faultResult(f, group, process, true)}, format, ignored)
	}
	if err != nil {
		return err
	}
	c.output(makeNamespec(group, process) + ": " + done)
	return nil
}

func doStart(c *controller, ctx context.Context, arg string) error {
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	names := pySplit(arg)
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		c.output("Error: start requires a process name")
		c.exitStatus = exitInvalidArgs
		commands["start"].help(c)
		return nil
	}
	if contains(names, "all") {
		results, err := s.StartAllProcesses(ctx, true)
		if err != nil {
			return err
		}
		return c.showResults(results, startResult, client.FaultAlreadyStarted)
	}
	for _, name := range names {
		group, process, hasProcess := splitNamespec(name)
		if !hasProcess {
			results, err := s.StartProcessGroup(ctx, group, true)
			if f, ok := faultOf(err); ok && f.Code == client.FaultBadName {
				c.output(group + ": ERROR (no such group)")
				c.exitStatus = exitInvalidArgs
				continue
			}
			if err != nil {
				c.exitStatus = exitGeneric
				return err
			}
			if err := c.showResults(results, startResult, client.FaultAlreadyStarted); err != nil {
				return err
			}
			continue
		}
		c.sayNeeds(ctx, s, name) // extension: nothing without depends_on
		if err := c.showOne(s.StartProcess(ctx, name, true), group, process, startResult, client.FaultAlreadyStarted, "started"); err != nil {
			return err
		}
	}
	return nil
}
