package ctl

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/gpudesk/runtime/supervisor/client"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

func init() {
	register(&command{name: "fg", run: doFg, help: func(c *controller) {
		c.output("fg <process>\tConnect to a process in foreground mode")
		c.output("\t\tCtrl-C to exit")
	}})
}

// lockedWriter serialises writes from the log followers and the command.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func doFg(c *controller, ctx context.Context, arg string) error {
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	names := pySplit(arg)
	switch {
	case len(names) == 0:
		c.output("ERROR: no process name supplied")
		c.exitStatus = exitGeneric
		commands["fg"].help(c)
		return nil
	case len(names) > 1:
		c.output("ERROR: too many process names supplied")
		c.exitStatus = exitGeneric
		return nil
	}
	name := names[0]
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	info, err := s.GetProcessInfo(ctx, name)
	if f, ok := faultOf(err); ok {
		if f.Code == client.FaultBadName {
			c.output("ERROR: bad process name supplied")
			c.exitStatus = exitGeneric
		} else {
			c.output("ERROR: " + faultRepr(f))
		}
		return nil
	}
	if err != nil {
		return err
	}
	if info.State != client.StateRunning {
		c.output("ERROR: process not running")
		c.exitStatus = exitGeneric
		return nil
	}
	c.output("==> Press Ctrl-C to exit <==")

	out := &lockedWriter{w: c.out}
	saved := c.out
	c.out = out
	followCtx, stopFollowing := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, stream := range []client.Stream{client.Stdout, client.Stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := client.LogTailPath(name, stream)
			err := s.Follow(followCtx, path, &feedWriter{w: out})
			var he *xmlrpc.HTTPError
			switch {
			case err == nil || followCtx.Err() != nil:
			case errors.As(err, &he):
				io.WriteString(c.p.Stderr, c.opts.serverURL+path+" Cannot read, status code "+itoa(he.StatusCode)+"\n")
			default:
				pe := toPyException(err, false)
				io.WriteString(c.p.Stderr, c.opts.serverURL+path+" Cannot connect, error: <class '"+pe.Class+"'> ("+pe.Msg+")\n")
			}
		}()
	}
	defer func() {
		stopFollowing()
		wg.Wait()
		c.out = saved
	}()

	for {
		line, err := c.input(ctx, "")
		if err != nil {
			// Ctrl-C or the end of input.
			c.output("Exiting foreground")
			return nil
		}
		err = s.SendProcessStdin(ctx, name, line+"\n")
		if f, ok := faultOf(err); ok {
			if f.Code == client.FaultNotRunning {
				c.output("Process got killed")
			} else {
				c.output("ERROR: " + faultRepr(f))
			}
			c.output("Exiting foreground")
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				c.output("Exiting foreground")
				return nil
			}
			return err
		}
		info, err := s.GetProcessInfo(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				c.output("Exiting foreground")
				return nil
			}
			return err
		}
		if info.State != client.StateRunning {
			c.output("Process got killed")
			c.output("Exiting foreground")
			return nil
		}
	}
}
