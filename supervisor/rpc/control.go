package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/process"
)

// Starting, stopping and signalling processes and groups, with
// supervisor's wait semantics and group result lists.

// startOne starts a process, on the loop; it returns the wait that
// remains when wait is set and the process is not RUNNING yet.
func (s *Server) startOne(t target, name string, wait bool) (pending, error) {
	p := t.p
	if err := p.CheckCommand(); err != nil {
		var ce *process.CommandError
		if errors.As(err, &ce) && ce.NotFound {
			return nil, fault(NoFile, ce.Msg)
		}
		return nil, fault(NotExecutable, err.Error())
	}
	if isRunning(p) {
		return nil, fault(AlreadyStarted, name)
	}
	if p.State() == process.Unknown {
		return nil, fault(Failed, name+" is in an unknown process state")
	}
	s.d.StartProcess(p)
	if p.SpawnErr() != "" {
		return nil, fault(SpawnError, name)
	}
	if !wait || p.State() == process.Running {
		return nil, nil
	}
	return func() (bool, error) {
		if p.SpawnErr() != "" {
			return false, fault(SpawnError, name)
		}
		switch p.State() {
		case process.Running:
			return true, nil
		case process.Starting:
			return false, nil
		}
		return false, fault(AbnormalTermination, name)
	}, nil
}

// stopOne stops a process, on the loop.
func (s *Server) stopOne(t target, name string, wait bool) (pending, error) {
	p := t.p
	if !isRunning(p) {
		return nil, fault(NotRunning, name)
	}
	if msg := s.d.StopProcess(p); msg != "" {
		return nil, fault(Failed, msg)
	}
	if !wait || p.State().IsStopped() {
		return nil, nil
	}
	return func() (bool, error) {
		p.StopReport(time.Now())
		return p.State().IsStopped(), nil
	}, nil
}

// one runs a single-process operation, or the group operation when the
// name is a group ("g:*" or "g:").
func (s *Server) one(ctx context.Context, name string, op func(target, string) (pending, error), group func(string) (any, error)) (any, error) {
	var check pending
	var groupName string
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		g, p, err := s.lookup(name)
		if err != nil {
			return err
		}
		if p == nil {
			groupName = g.Config.Name
			return nil
		}
		check, err = op(target{g, p}, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	if groupName != "" {
		return group(groupName)
	}
	if check != nil {
		if err := s.waitFor(ctx, check); err != nil {
			return nil, err
		}
	}
	return true, nil
}

func (s *Server) startProcess(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	wait := boolArg(args, 1)
	return s.one(ctx, name,
		func(t target, n string) (pending, error) { return s.startOne(t, n, wait) },
		func(g string) (any, error) { return s.groupOp(ctx, g, "start", wait, 0) })
}

func (s *Server) stopProcess(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	wait := boolArg(args, 1)
	return s.one(ctx, name,
		func(t target, n string) (pending, error) { return s.stopOne(t, n, wait) },
		func(g string) (any, error) { return s.groupOp(ctx, g, "stop", wait, 0) })
}

// groupOp starts, stops or signals every process of a group ("" for all
// groups), in priority order.
func (s *Server) groupOp(ctx context.Context, group, op string, wait bool, sig int) (any, error) {
	var targets []target
	err := s.on(ctx, func() (err error) {
		if op != "signal" {
			if err := s.checkMood(); err != nil {
				return err
			}
		}
		targets, err = s.groupMembers(group)
		return err
	})
	if err != nil {
		return nil, err
	}
	var res []any
	switch op {
	case "start":
		res, err = s.allFunc(ctx, targets, func(p *process.Process) bool { return !isRunning(p) },
			func(t target) (pending, error) { return s.startOne(t, t.namespec(), wait) })
	case "stop":
		res, err = s.allFunc(ctx, targets, isRunning,
			func(t target) (pending, error) { return s.stopOne(t, t.namespec(), wait) })
	case "signal":
		res, err = s.allFunc(ctx, targets, isSignallable,
			func(t target) (pending, error) { return nil, signalOne(t, t.namespec(), sig) })
		if err == nil {
			// supervisor checks its state after signalling a group.
			err = s.on(ctx, s.checkMood)
		}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Server) startProcessGroup(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	return s.groupOp(ctx, name, "start", boolArg(args, 1), 0)
}

func (s *Server) startAllProcesses(ctx context.Context, args []any) (any, error) {
	return s.groupOp(ctx, "", "start", boolArg(args, 0), 0)
}

func (s *Server) stopProcessGroup(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	return s.groupOp(ctx, name, "stop", boolArg(args, 1), 0)
}

func (s *Server) stopAllProcesses(ctx context.Context, args []any) (any, error) {
	return s.groupOp(ctx, "", "stop", boolArg(args, 0), 0)
}

// signalNumber reads a signal name or number as supervisor does.
func signalNumber(v any) (int, error) {
	str := fmt.Sprint(v)
	n, err := config.ParseSignal(str)
	if err != nil {
		return 0, fault(BadSignal, str)
	}
	return n, nil
}

func signalOne(t target, name string, sig int) error {
	if !isSignallable(t.p) {
		return fault(NotRunning, name)
	}
	if msg := t.p.Signal(sig, time.Now()); msg != "" {
		return fault(Failed, msg)
	}
	return nil
}

func (s *Server) signalProcess(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	// As in supervisor, the signal is looked at only once the name is
	// known to be a process (or a group).
	return s.one(ctx, name,
		func(t target, n string) (pending, error) {
			sig, err := signalNumber(args[1])
			if err != nil {
				return nil, err
			}
			return nil, signalOne(t, n, sig)
		},
		func(g string) (any, error) {
			sig, err := signalNumber(args[1])
			if err != nil {
				return nil, err
			}
			return s.groupOp(ctx, g, "signal", false, sig)
		})
}

func (s *Server) signalProcessGroup(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	sig, err := signalNumber(args[1])
	if err != nil {
		// supervisor reports a bad signal per process, not for the call.
		return s.groupSignalFaults(ctx, name, args[1])
	}
	return s.groupOp(ctx, name, "signal", false, sig)
}

// groupMembers returns the processes of a group, or of every group when
// group is "", in priority order; an unknown group is BAD_NAME. Runs on
// the loop.
func (s *Server) groupMembers(group string) ([]target, error) {
	if group == "" {
		return byPriority(s.d.Groups()), nil
	}
	g := s.d.Group(group)
	if g == nil {
		return nil, fault(BadName, group)
	}
	return groupTargets(g), nil
}

// groupSignalFaults answers a group signal with a bad signal name: each
// signallable process gets BAD_SIGNAL, as supervisor's allfunc reports it.
func (s *Server) groupSignalFaults(ctx context.Context, group string, sig any) (any, error) {
	var targets []target
	err := s.on(ctx, func() (err error) {
		targets, err = s.groupMembers(group)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.allFunc(ctx, targets, isSignallable, func(t target) (pending, error) {
		return nil, fault(BadSignal, fmt.Sprint(sig))
	})
}

func (s *Server) signalAllProcesses(ctx context.Context, args []any) (any, error) {
	sig, err := signalNumber(args[0])
	if err != nil {
		return s.groupSignalFaults(ctx, "", args[0])
	}
	return s.groupOp(ctx, "", "signal", false, sig)
}
