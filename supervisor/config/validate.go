package config

import (
	"fmt"
	"strings"
	"time"
)

// Validate checks the invariants of a Config that was built or changed in
// code (Load only returns configurations that pass it). Problems are
// reported as Errors naming the section and option.
func (c *Config) Validate() error {
	var errs Errors
	bad := func(section, option, value, format string, args ...any) {
		errs = append(errs, &Error{File: c.File, Section: section, Option: option, Value: value, Msg: fmt.Sprintf(format, args...)})
	}
	s := c.Supervisord
	if _, ok := levelNames[s.LogLevel.String()]; !ok {
		bad("supervisord", "loglevel", s.LogLevel.String(), "unknown log level")
	}
	if s.ShutdownBudget < 0 || s.ShutdownBudget > MaxShutdownBudget*time.Second {
		bad("supervisord", "shutdown_budget", s.ShutdownBudget.String(), "out of range 0-%d seconds", MaxShutdownBudget)
	}
	for _, srv := range c.InetServers {
		if srv.Port < 1 || srv.Port > 0xffff {
			bad(srv.Section, "port", fmt.Sprint(srv.Port), "port out of range 1-65535")
		}
	}
	for _, g := range c.Groups {
		if _, err := parseName(g.Name); err != nil && g.Kind != KindEventListener {
			bad(g.Section, "", g.Name, "%v", err)
		}
		if g.Kind == KindEventListener {
			if g.BufferSize < 1 {
				bad(g.Section, "buffer_size", fmt.Sprint(g.BufferSize), "must be 1 or more")
			}
			if len(g.Events) == 0 {
				bad(g.Section, "events", "", "no events")
			}
			for _, e := range g.Events {
				if !eventTypes[e] {
					bad(g.Section, "events", e, "unknown event type %s", e)
				}
			}
		}
		if g.Kind == KindFCGI && (g.Socket == nil || g.Socket.URL == "") {
			bad(g.Section, "socket", "", "no socket")
		}
		for _, p := range g.Processes {
			sec := p.Section
			if p.Group != g.Name {
				bad(sec, "", "", "process %s says it is in group %s, not %s", p.Name, p.Group, g.Name)
			}
			if !validSignalNumber(int64(p.StopSignal)) {
				bad(sec, "stopsignal", fmt.Sprint(p.StopSignal), "not a valid signal number")
			}
			for _, code := range p.ExitCodes {
				if code < 0 || code > 255 {
					bad(sec, "exitcodes", fmt.Sprint(code), "exit codes are 0 to 255")
				}
			}
			if p.StopAsGroup && !p.KillAsGroup {
				bad(sec, "killasgroup", "false", "Cannot set stopasgroup=true and killasgroup=false")
			}
			if p.RedirectStderr && p.Stderr.Kind != LogNone {
				bad(sec, "stderr_logfile", "", "stderr is redirected but has a log file")
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Kind returns the kind of group the process's section makes.
func (p *Process) Kind() GroupKind {
	switch {
	case strings.HasPrefix(p.Section, "eventlistener:"):
		return KindEventListener
	case strings.HasPrefix(p.Section, "fcgi-program:"):
		return KindFCGI
	}
	return KindProcess
}
