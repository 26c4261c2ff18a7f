package ctl

import "context"

func init() {
	register(&command{name: "quit", run: doEOF, help: func(c *controller) {
		c.output("quit\tExit the supervisor shell.")
	}})
	register(&command{name: "exit", run: doEOF, help: func(c *controller) {
		c.output("exit\tExit the supervisor shell.")
	}})
	register(&command{name: "EOF", run: doEOF, hidden: true, help: func(c *controller) {
		c.output("To quit, type ^D or use the quit command")
	}})
}

// doEOF ends the shell (and prints an empty line, as Python does).
func doEOF(c *controller, _ context.Context, _ string) error {
	c.output("")
	return errStop
}
