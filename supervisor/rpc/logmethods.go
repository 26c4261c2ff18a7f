package rpc

import (
	"context"
	"errors"
	"os"

	"github.com/gpudesk/runtime/supervisor/config"
	"github.com/gpudesk/runtime/supervisor/logfile"
	"github.com/gpudesk/runtime/supervisor/process"
)

// The log methods: readLog, clearLog and the per-process read, tail and
// clear methods, over supervisor/logfile.

// readFile maps logfile.Read to supervisor's faults.
func readFile(path string, offset, length int64) (any, error) {
	if path == "" {
		return nil, fault(NoFile) // Python's extra is None: no text
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fault(NoFile, path)
	}
	data, err := logfile.Read(path, offset, length)
	if errors.Is(err, logfile.ErrBadArguments) {
		return nil, fault(BadArguments)
	}
	if err != nil {
		return nil, fault(Failed)
	}
	return string(data), nil
}

func (s *Server) readLog(ctx context.Context, args []any) (any, error) {
	offset, err := intArg(args, 0)
	if err != nil {
		return nil, err
	}
	length, err := intArg(args, 1)
	if err != nil {
		return nil, err
	}
	var path string
	if err := s.on(ctx, func() error { path = s.d.Logger().Path(); return s.checkMood() }); err != nil {
		return nil, err
	}
	return readFile(path, offset, length)
}

func (s *Server) clearLog(ctx context.Context, _ []any) (any, error) {
	err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		log := s.d.Logger()
		path := log.Path()
		if path == "" {
			return fault(NoFile)
		}
		if _, err := os.Stat(path); err != nil {
			return fault(NoFile)
		}
		if err := os.Remove(path); err != nil {
			return fault(Failed)
		}
		log.Log(config.LevelInfo, "reopening log file")
		if err := log.Reopen(); err != nil {
			return fault(Failed)
		}
		return nil
	})
	return true, err
}

// logArgs reads (name, offset, length) and finds the log file.
func (s *Server) logArgs(ctx context.Context, args []any, stderr bool) (path string, offset, length int64, err error) {
	name, err := strArg(args, 0)
	if err != nil {
		return "", 0, 0, err
	}
	if offset, err = intArg(args, 1); err != nil {
		return "", 0, 0, err
	}
	if length, err = intArg(args, 2); err != nil {
		return "", 0, 0, err
	}
	err = s.on(ctx, func() error {
		t, err := s.processOf(name)
		if err == nil {
			path = t.p.LogPath(stderr)
		}
		return err
	})
	return path, offset, length, err
}

func (s *Server) readProcessLog(stderr bool) func(context.Context, []any) (any, error) {
	return func(ctx context.Context, args []any) (any, error) {
		path, offset, length, err := s.logArgs(ctx, args, stderr)
		if err != nil {
			return nil, err
		}
		return readFile(path, offset, length)
	}
}

func (s *Server) tailProcessLog(stderr bool) func(context.Context, []any) (any, error) {
	return func(ctx context.Context, args []any) (any, error) {
		path, offset, length, err := s.logArgs(ctx, args, stderr)
		if err != nil {
			return nil, err
		}
		if path == "" {
			return []any{"", 0, false}, nil
		}
		if _, err := os.Stat(path); err != nil {
			return []any{"", 0, false}, nil
		}
		data, next, overflow := logfile.Tail(path, offset, length)
		return []any{string(data), next, overflow}, nil
	}
}

func (s *Server) clearProcessLogs(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	err = s.on(ctx, func() error {
		t, err := s.processOf(name)
		if err != nil {
			return err
		}
		if t.p.RemoveLogs() != nil {
			return fault(Failed, name)
		}
		return nil
	})
	return true, err
}

func (s *Server) clearAllProcessLogs(ctx context.Context, _ []any) (any, error) {
	var targets []target
	if err := s.on(ctx, func() error {
		if err := s.checkMood(); err != nil {
			return err
		}
		targets = byPriority(s.d.Groups())
		return nil
	}); err != nil {
		return nil, err
	}
	return s.allFunc(ctx, targets, func(*process.Process) bool { return true }, func(t target) (pending, error) {
		if t.p.RemoveLogs() != nil {
			return nil, fault(Failed, t.namespec())
		}
		return nil, nil
	})
}
