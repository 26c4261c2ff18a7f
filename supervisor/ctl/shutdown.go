package ctl

import (
	"context"
	"strings"
	"syscall"

	"github.com/gpudesk/runtime/supervisor/client"
)

func init() {
	register(&command{name: "shutdown", run: doShutdown, help: func(c *controller) {
		c.output("shutdown \tShut the remote supervisord down.")
	}})
}

// confirm asks a yes/no question in the shell, as Python's raw_input does;
// outside the shell the answer is yes.
func (c *controller) confirm(ctx context.Context, question string, src [2]any) (bool, error) {
	if !c.opts.interactive {
		return true, nil
	}
	answer, err := c.input(ctx, question)
	if err != nil {
		return false, c.inputError(err, src, "EOF when reading a line")
	}
	return strings.HasPrefix(pyLower(answer), "y"), nil
}

func doShutdown(c *controller, ctx context.Context, arg string) error {
	if arg != "" {
		c.output("Error: shutdown accepts no arguments")
		c.exitStatus = exitGeneric
		commands["shutdown"].help(c)
		return nil
	}
	really, err := c.confirm(ctx, "Really shut the remote supervisord process down y/N? ", srcShutdownPrompt)
	if err != nil || !really {
		return err
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	err = s.Shutdown(ctx)
	if f, ok := faultOf(err); ok {
		if f.Code == client.FaultShutdownState {
			c.output("ERROR: already shutting down")
			return nil
		}
		c.exitStatus = exitGeneric
		return err
	}
	switch {
	case err == nil:
		c.output("Shut down")
	case isErrno(err, syscall.ECONNREFUSED):
		c.exitStatus = exitGeneric
		c.output("ERROR: " + c.opts.serverURL + " refused connection (already shut down?)")
	case isErrno(err, syscall.ENOENT):
		c.exitStatus = exitGeneric
		c.output("ERROR: " + c.opts.serverURL + " no such file (already shut down?)")
	default:
		return err
	}
	return nil
}
