package rpc

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// sendProcessStdin and sendRemoteCommEvent.

func (s *Server) sendProcessStdin(ctx context.Context, args []any) (any, error) {
	name, err := strArg(args, 0)
	if err != nil {
		return nil, err
	}
	var chars []byte
	switch v := args[1].(type) {
	case string:
		chars = []byte(v)
	case []byte:
		chars = v
	default:
		return nil, fault(IncorrectParameters, fmt.Sprint(v))
	}
	err = s.on(ctx, func() error {
		t, err := s.processOf(name)
		if err != nil {
			return err
		}
		p := t.p
		if p.PID() == 0 || p.Killing() {
			return fault(NotRunning, name)
		}
		if err := p.WriteStdin(chars); err != nil {
			if errors.Is(err, syscall.EPIPE) {
				return fault(NoFile, name)
			}
			return fault(Failed, err.Error())
		}
		return nil
	})
	return true, err
}

// sendRemoteCommEvent publishes REMOTE_COMMUNICATION; like supervisor it
// works even while shutting down.
func (s *Server) sendRemoteCommEvent(ctx context.Context, args []any) (any, error) {
	typ, data := fmt.Sprint(args[0]), fmt.Sprint(args[1])
	err := s.on(ctx, func() error { s.d.PublishRemote(typ, data); return nil })
	return true, err
}
