package ctl

import "context"

func init() {
	register(&command{name: "open", run: doOpen, help: func(c *controller) {
		c.output("open <url>\tConnect to a remote supervisord process.")
		c.output("\t\t(for UNIX domain socket, use unix:///socket/path)")
	}})
}

func doOpen(c *controller, ctx context.Context, arg string) error {
	url := pyStrip(arg)
	scheme, _, _, bad := urlSplit(url)
	if bad != nil {
		return bad
	}
	if scheme != "unix" && scheme != "http" {
		c.output("ERROR: url must be http:// or unix://")
		c.exitStatus = exitGeneric
		return nil
	}
	c.opts.serverURL = url
	old := c.exitStatus
	err := doStatus(c, ctx, "")
	c.exitStatus = old
	return err
}
