package ctl

import (
	"context"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/gpudesk/runtime/supervisor/client"
	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

func init() {
	register(&command{name: "tail", run: doTail, help: func(c *controller) {
		c.output("tail [-f] <name> [stdout|stderr] (default stdout)\n" +
			"Ex:\n" +
			"tail -f <name>\t\tContinuous tail of named process stdout\n" +
			"\t\t\tCtrl-C to exit.\n" +
			"tail -100 <name>\tlast 100 *bytes* of process stdout\n" +
			"tail <name> stderr\tlast 1600 *bytes* of process stderr")
	}})
}

// byteCount reads the -N of tail and maintail as Python's int() does and
// returns the offset to read from (-N), or an OverflowError as Python's
// marshaller raises it.
func byteCount(what string) (offset int, ok bool, err error) {
	n, ok := pyInt(what)
	if !ok {
		return 0, false, nil
	}
	n.Neg(n)
	v, fits := xmlrpcInt(n)
	if !fits {
		return 0, true, newPyException("OverflowError", "int exceeds XML-RPC limits", srcOverflow, nil)
	}
	return v, true, nil
}

func doTail(c *controller, ctx context.Context, arg string) error {
	up, err := c.upcheck(ctx)
	if err != nil || !up {
		return err
	}
	args := pySplit(arg)
	switch {
	case len(args) < 1:
		c.output("Error: too few arguments")
		c.exitStatus = exitGeneric
		commands["tail"].help(c)
		return nil
	case len(args) > 3:
		c.output("Error: too many arguments")
		c.exitStatus = exitGeneric
		commands["tail"].help(c)
		return nil
	}
	modifier := ""
	if len(args[0]) > 0 && args[0][0] == '-' {
		modifier, args = args[0], args[1:]
	}
	var name, channel string
	switch len(args) {
	case 0:
		c.output("Error: tail requires process name")
		c.exitStatus = exitGeneric
		return nil
	case 1:
		name, channel = args[0], "stdout"
	default:
		name, channel = args[0], pyLower(args[len(args)-1])
		if channel != "stderr" && channel != "stdout" {
			c.output("Error: bad channel " + pyRepr(channel))
			c.exitStatus = exitGeneric
			return nil
		}
	}
	offset, follow := -1600, false
	var overflow error
	if modifier != "" {
		what := modifier[1:]
		if what == "f" {
			follow = true
		} else {
			var ok bool
			offset, ok, overflow = byteCount(what)
			if !ok {
				c.output("Error: bad argument " + modifier)
				c.exitStatus = exitGeneric
				return nil
			}
		}
	}
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	if follow {
		return c.tailf(ctx, client.LogTailPath(name, client.Stream(channel)))
	}
	if overflow != nil {
		return overflow
	}
	out, err := s.ReadProcessLog(ctx, name, client.Stream(channel), offset, 0)
	if f, ok := faultOf(err); ok {
		c.exitStatus = exitGeneric
		switch f.Code {
		case client.FaultNoFile:
			c.output(name + ": ERROR (no log file)")
		case client.FaultFailed:
			c.output(name + ": ERROR (unknown error reading log)")
		case client.FaultBadName:
			c.output(name + ": ERROR (no such process name)")
		default:
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	c.output(out)
	return nil
}

// tailf is Python's _tailf: it streams path to stdout until the server
// ends it or Ctrl-C.
func (c *controller) tailf(ctx context.Context, path string) error {
	c.output("==> Press Ctrl-C to exit <==")
	s, err := c.supervisor()
	if err != nil {
		return err
	}
	err = s.Follow(ctx, path, &feedWriter{w: c.out})
	if ctx.Err() != nil {
		c.output("")
		return nil
	}
	var he *xmlrpc.HTTPError
	switch {
	case err == nil:
	case errors.As(err, &he):
		io.WriteString(c.p.Stderr, c.opts.serverURL+path+" Cannot read, status code "+itoa(he.StatusCode)+"\n")
	default:
		pe := toPyException(err, false)
		io.WriteString(c.p.Stderr, c.opts.serverURL+path+" Cannot connect, error: <class '"+pe.Class+"'> ("+pe.Msg+")\n")
	}
	return nil
}

// feedWriter writes what the server streams as Python's http_client
// Listener.feed does: text as it is, and a piece that is not UTF-8 as
// "Undecodable: b'...'".
type feedWriter struct{ w io.Writer }

func (f *feedWriter) Write(p []byte) (int, error) {
	var err error
	if utf8.Valid(p) {
		_, err = f.w.Write(p)
	} else {
		_, err = io.WriteString(f.w, "Undecodable: "+pyBytesRepr(p))
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
