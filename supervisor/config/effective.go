package config

// The effective configuration as JSON: every process with every resolved
// option. The shape is shared with testdata/oracle.py, which prints the same
// document from Python supervisor, so the two can be compared field by field.

import (
	"encoding/json"
	"io"
)

// Effective returns the configuration as the JSON document that
// `supervisord --print-config` prints. Plain passwords are masked.
func (c *Config) Effective() map[string]any {
	s := c.Supervisord
	doc := map[string]any{
		"ok":   true,
		"file": c.File,
		"supervisord": map[string]any{
			"logfile":          s.Logfile,
			"pidfile":          s.Pidfile,
			"logfile_maxbytes": s.LogfileMaxBytes,
			"logfile_backups":  s.LogfileBackups,
			"loglevel":         s.LogLevel.String(),
			"umask":            s.Umask,
			"nodaemon":         s.Nodaemon,
			"silent":           s.Silent,
			"minfds":           s.MinFDs,
			"minprocs":         s.MinProcs,
			"nocleanup":        s.NoCleanup,
			"strip_ansi":       s.StripANSI,
			"childlogdir":      s.ChildLogDir,
			"user":             nullable(s.User),
			"directory":        nullable(s.Directory),
			"identifier":       s.Identifier,
			"watch_config":     s.WatchConfig,
			"shutdown_budget":  s.ShutdownBudget.Seconds(),
			"environment":      s.Environment.Map(),
		},
	}
	servers := []any{}
	for _, v := range c.InetServers {
		servers = append(servers, map[string]any{
			"family": "inet", "name": nullable(v.Name), "section": v.Section,
			"host": v.Host, "port": v.Port,
			"username": authValue(v.HasAuth, v.Username), "password": maskPassword(v.HasAuth, v.Password),
		})
	}
	for _, v := range c.UnixServers {
		servers = append(servers, map[string]any{
			"family": "unix", "name": nullable(v.Name), "section": v.Section,
			"file": v.File, "chmod": v.Chmod, "chown": []int{v.ChownUID, v.ChownGID},
			"username": authValue(v.HasAuth, v.Username), "password": maskPassword(v.HasAuth, v.Password),
		})
	}
	doc["servers"] = servers
	rpcs := []any{}
	for _, r := range c.RPCInterfaces {
		rpcs = append(rpcs, map[string]any{"name": r.Name, "factory": r.Factory, "extras": r.Extras})
	}
	doc["rpcinterfaces"] = rpcs
	groups := []any{}
	for _, g := range c.Groups {
		gm := map[string]any{"name": g.Name, "kind": g.Kind.String(), "priority": g.Priority}
		switch g.Kind {
		case KindEventListener:
			gm["buffer_size"] = g.BufferSize
			gm["events"] = g.Events
			gm["result_handler"] = g.ResultHandler
		case KindFCGI:
			k := g.Socket
			gm["socket"] = k.URL
			gm["socket_backlog"] = zeroNull(k.Backlog)
			gm["socket_mode"] = negNull(k.Mode)
			if k.OwnerUID >= 0 {
				gm["socket_owner"] = []int{k.OwnerUID, k.OwnerGID}
			} else {
				gm["socket_owner"] = nil
			}
		}
		procs := []any{}
		for _, p := range g.Processes {
			procs = append(procs, p.effective())
		}
		gm["processes"] = procs
		groups = append(groups, gm)
	}
	doc["groups"] = groups
	if ctl := c.Supervisorctl; ctl != nil {
		m := map[string]any{
			"serverurl": ctl.ServerURL, "prompt": ctl.Prompt,
			"username": nil, "password": nil, "history_file": nullable(ctl.HistoryFile),
		}
		if ctl.UsernameSet {
			m["username"] = ctl.Username
		}
		if ctl.PasswordSet {
			m["password"] = maskPassword(true, Password(ctl.Password))
		}
		doc["supervisorctl"] = m
	} else {
		doc["supervisorctl"] = nil
	}
	warnings := []string{}
	for _, w := range c.Warnings {
		warnings = append(warnings, w.Error())
	}
	doc["warnings"] = warnings
	return doc
}

func (p *Process) effective() map[string]any {
	m := map[string]any{
		"name":            p.Name,
		"command":         p.Command,
		"directory":       nil,
		"umask":           negNull(p.Umask),
		"priority":        p.Priority,
		"autostart":       p.Autostart,
		"autorestart":     p.Autorestart.String(),
		"startsecs":       p.StartSecs,
		"startretries":    p.StartRetries,
		"uid":             negNull(p.UID),
		"stopsignal":      p.StopSignal,
		"stopwaitsecs":    p.StopWaitSecs,
		"stopasgroup":     p.StopAsGroup,
		"killasgroup":     p.KillAsGroup,
		"exitcodes":       p.ExitCodes,
		"redirect_stderr": p.RedirectStderr,
		"environment":     p.Environment.Map(),
		"serverurl":       nil,
	}
	p.effectiveReadiness(m)
	if p.Directory != nil {
		m["directory"] = *p.Directory
	}
	if p.ServerURL != nil {
		m["serverurl"] = *p.ServerURL
	}
	for stream, o := range map[string]OutputLog{"stdout": p.Stdout, "stderr": p.Stderr} {
		var lf any
		switch o.Kind {
		case LogAuto:
			lf = "AUTO"
		case LogFile:
			lf = o.Path
		}
		m[stream+"_logfile"] = lf
		m[stream+"_capture_maxbytes"] = o.CaptureMaxBytes
		m[stream+"_events_enabled"] = o.EventsEnabled
		m[stream+"_syslog"] = o.Syslog
		m[stream+"_logfile_backups"] = o.Backups
		m[stream+"_logfile_maxbytes"] = o.MaxBytes
	}
	return m
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func negNull(n int) any {
	if n < 0 {
		return nil
	}
	return n
}

func zeroNull(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

// authValue returns the username, or nil when the section has no login.
func authValue(has bool, user string) any {
	if !has {
		return nil
	}
	return user
}

// maskPassword hides plain passwords; {SHA} digests are shown as written.
func maskPassword(has bool, p Password) any {
	switch {
	case !has:
		return nil
	case p.Hashed():
		return string(p)
	}
	return "******"
}

// WriteJSON writes the effective configuration, indented.
func (c *Config) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c.Effective())
}
