package ctl

import (
	"context"
	"errors"
	"os"
	"strings"
)

// cmdloop is the interactive shell: "status" first, as Python queues it,
// then a prompt per line until EOF, quit, exit or Ctrl-C.
func (c *controller) cmdloop() {
	c.readHistory()
	defer c.writeHistory()
	queue := []string{"status"}
	for {
		var line string
		if len(queue) > 0 {
			line, queue = queue[0], queue[1:]
		} else {
			err := c.interruptible(func(ctx context.Context) error {
				var err error
				line, err = c.input(ctx, c.opts.prompt+"> ")
				return err
			})
			switch {
			case errors.Is(err, errInterrupt):
				c.output("")
				return
			case err != nil:
				line = "EOF"
			}
		}
		stop := c.onecmd(line)
		if c.interrupted {
			c.output("")
			return
		}
		if stop {
			return
		}
	}
}

// readHistory loads the history file, as readline.read_history_file does
// (a missing or unreadable file is no history).
func (c *controller) readHistory() {
	if c.opts.historyFile == "" {
		return
	}
	data, err := os.ReadFile(c.opts.historyFile)
	if err != nil {
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line != "" {
			c.history = append(c.history, line)
		}
	}
}

// writeHistory saves the history, as readline.write_history_file does at
// exit: one line per entry, created 0600; errors are ignored.
func (c *controller) writeHistory() {
	if c.opts.historyFile == "" {
		return
	}
	var b strings.Builder
	for _, line := range c.history {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	f, err := os.OpenFile(c.opts.historyFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	f.WriteString(b.String())
	f.Close()
}
