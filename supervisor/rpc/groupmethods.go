package rpc

import (
	"context"
	"errors"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/daemon"
)

// reloadConfig, addProcessGroup and removeProcessGroup: the configuration
// diff and group changes, done by the daemon.

func (s *Server) reloadConfig(ctx context.Context, _ []any) (any, error) {
	var added, changed, removed []string
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		var err error
		added, changed, removed, err = s.d.ReloadConfig()
		var es config.Errors
		if errors.As(err, &es) && len(es) > 0 {
			// supervisorctl shows this text: Python's words for the first
			// problem.
			return fault(CantReread, es[0].PythonMessage())
		}
		if err != nil {
			return fault(CantReread, err.Error())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	list := func(ss []string) []any {
		out := []any{}
		for _, x := range ss {
			out = append(out, x)
		}
		return out
	}
	return []any{[]any{list(added), list(changed), list(removed)}}, nil
}

func (s *Server) addProcessGroup(ctx context.Context, args []any) (any, error) {
	return s.changeGroups(ctx, args, s.d.AddGroup)
}

func (s *Server) removeProcessGroup(ctx context.Context, args []any) (any, error) {
	return s.changeGroups(ctx, args, s.d.RemoveGroup)
}

// changeGroups adds or removes the named group on the loop, mapping the
// daemon's errors to supervisor's faults.
func (s *Server) changeGroups(ctx context.Context, args []any, change func(string) error) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	err = s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		switch err := change(name); {
		case errors.Is(err, daemon.ErrAlreadyAdded):
			return fault(AlreadyAdded, name)
		case errors.Is(err, daemon.ErrStillRunning):
			return fault(StillRunning, name)
		case errors.Is(err, daemon.ErrNoGroup):
			return fault(BadName, name)
		case err != nil:
			return fault(Failed, err.Error())
		}
		return nil
	})
	return true, err
}
