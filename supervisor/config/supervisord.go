package config

import (
	"fmt"
	"strings"
)

func (l *loader) supervisord(here string) {
	const sec = "supervisord"
	s := &l.cfg.Supervisord
	exp := expansions{"here": here}
	str := func(opt, def string) (string, *iniValue, bool) {
		val, v, _, ok := l.expandedGet(sec, opt, &def, exp)
		return val, v, ok
	}
	s.MinFDs, _ = typed(l, sec, "minfds", "1024", exp, intOf)
	s.MinProcs, _ = typed(l, sec, "minprocs", "200", exp, intOf)
	if dir, v, set, ok := l.expandedGet(sec, "directory", nil, exp); set && ok {
		d, err := existingDirectory(dir)
		if err != nil {
			l.fail(sec, "directory", v, err)
		}
		s.Directory = d
	}
	s.UID = -1
	userVal, userV, userSet, _ := l.expandedGet(sec, "user", nil, exp)
	s.Umask, _ = typed(l, sec, "umask", "022", exp, octalOf)
	s.Logfile, _ = typed(l, sec, "logfile", DefaultLogfile, exp, existingDirpath)
	s.LogfileMaxBytes, _ = typed(l, sec, "logfile_maxbytes", "50MB", exp, parseByteSize)
	s.LogfileBackups, _ = typed(l, sec, "logfile_backups", "10", exp, intOf)
	s.LogLevel, _ = typed(l, sec, "loglevel", "info", exp, parseLogLevel)
	s.Pidfile, _ = typed(l, sec, "pidfile", DefaultPidfile, exp, existingDirpath)
	s.Identifier, _, _ = str("identifier", DefaultIdentifier)
	s.Nodaemon, _ = typed(l, sec, "nodaemon", "false", exp, parseBool)
	s.Silent, _ = typed(l, sec, "silent", "false", exp, parseBool)
	s.ChildLogDir, _ = typed(l, sec, "childlogdir", DefaultChildLogDir(l.opts.Environ), exp, existingDirectory)
	s.NoCleanup, _ = typed(l, sec, "nocleanup", "false", exp, parseBool)
	s.StripANSI, _ = typed(l, sec, "strip_ansi", "false", exp, parseBool)
	s.WatchConfig, _ = typed(l, sec, "watch_config", "false", exp, parseBool)
	l.shutdownBudget(exp)

	// environment is expanded twice: once as every option, then again with
	// host_node_name added (so a literal % needs %%%% here).
	envStr, envV, _, ok := l.expandedGet(sec, "environment", ptr(""), exp)
	if ok {
		second := l.env.over(expansions{"here": here, "host_node_name": l.opts.Hostname})
		envStr, err := expand(envStr, second, "environment")
		if err != nil {
			l.fail(sec, "environment", envV, err)
		} else if env, err := parseEnvironment(envStr); err != nil {
			l.fail(sec, "environment", envV, err)
		} else {
			s.Environment = env
			l.env = l.env.clone()
			for _, kv := range env {
				l.env["ENV_"+kv.Key] = kv.Value
			}
		}
	}
	// As Python: an empty logfile or pidfile normalizes to the current
	// directory (which then fails to open at start).
	if s.Logfile != "syslog" {
		s.Logfile = normalizePath(s.Logfile)
	}
	s.Pidfile = normalizePath(s.Pidfile)
	if userSet {
		s.User = userVal
		uid, err := lookupUID(userVal)
		if err != nil {
			l.fail(sec, "user", userV, err)
		}
		s.UID = uid
	}
}

func (l *loader) rpcInterfaces() {
	const key = "supervisor.rpcinterface_factory"
	for _, s := range l.doc.sections {
		name, ok := strings.CutPrefix(s.name, "rpcinterface:")
		if !ok {
			continue
		}
		spec, v, set, ok := l.expandedGet(s.name, key, nil, nil)
		if !ok {
			continue
		}
		if !set {
			l.errs = append(l.errs, &Error{File: s.at.File, Line: s.at.Line, Section: s.name,
				Msg:  fmt.Sprintf("section [%s] does not specify a %s", s.name, key),
				Hint: key + " = " + MainRPCInterface})
			continue
		}
		if spec != MainRPCInterface {
			l.fail(s.name, key, v, badValue("only "+MainRPCInterface+" is built in; Python plug-ins cannot run here",
				"%s cannot be resolved within [%s]", spec, s.name))
			continue
		}
		extras := map[string]string{}
		for _, k := range l.doc.options(s.name) {
			if k == key {
				continue
			}
			if val, _, _, ok := l.expandedGet(s.name, k, nil, nil); ok {
				extras[k] = val
			}
		}
		l.cfg.RPCInterfaces = append(l.cfg.RPCInterfaces, RPCInterface{Name: name, Factory: spec, Extras: extras})
	}
}

func (l *loader) servers(here string) {
	for _, s := range l.doc.sections {
		if !strings.HasPrefix(s.name, "inet_http_server") {
			continue
		}
		srv := InetHTTPServer{Section: s.name}
		_, srv.Name, _ = strings.Cut(s.name, ":")
		user, pass, has, ok := l.auth(s)
		if !ok {
			continue
		}
		srv.Username, srv.Password, srv.HasAuth = user, Password(pass), has
		port, v, set, ok := l.expandedGet(s.name, "port", nil, nil)
		if !ok {
			continue
		}
		if !set {
			l.errs = append(l.errs, &Error{File: s.at.File, Line: s.at.Line, Section: s.name, Option: "port", NoValue: true,
				Msg: fmt.Sprintf("section [%s] has no port value", s.name), Hint: "add port = 127.0.0.1:9001"})
			continue
		}
		host, p, err := parseInetAddress(port)
		if err != nil {
			l.fail(s.name, "port", v, err)
			continue
		}
		srv.Host, srv.Port = host, p
		if allow, ok := typed(l, s.name, "allow_unauthenticated", "false", nil, parseBool); ok {
			srv.AllowUnauthenticated = allow
		}
		l.cfg.InetServers = append(l.cfg.InetServers, srv)
	}
	for _, s := range l.doc.sections {
		if !strings.HasPrefix(s.name, "unix_http_server") {
			continue
		}
		srv := UnixHTTPServer{Section: s.name, Chmod: DefaultChmod, ChownUID: -1, ChownGID: -1}
		_, srv.Name, _ = strings.Cut(s.name, ":")
		file, _, set, ok := l.expandedGet(s.name, "file", nil, expansions{"here": here})
		if !ok {
			continue
		}
		if !set {
			l.errs = append(l.errs, &Error{File: s.at.File, Line: s.at.Line, Section: s.name, Option: "file", NoValue: true,
				Msg: fmt.Sprintf("section [%s] has no file value", s.name), Hint: "add file = /var/run/supervisor.sock"})
			continue
		}
		srv.File = normalizePath(pyStrip(file))
		user, pass, has, ok := l.auth(s)
		if !ok {
			continue
		}
		srv.Username, srv.Password, srv.HasAuth = user, Password(pass), has
		if c, v, set, ok := l.expandedGet(s.name, "chown", nil, nil); set && ok {
			uid, gid, err := parseUserGroup(c)
			if err != nil {
				l.fail(s.name, "chown", v, badValue("use user or user:group", "Invalid sockchown value %s", c))
				continue
			}
			srv.ChownUID, srv.ChownGID = uid, gid
		}
		if c, v, set, ok := l.expandedGet(s.name, "chmod", nil, nil); set && ok {
			m, err := octalOf(c)
			if err != nil {
				l.fail(s.name, "chmod", v, badValue(hintOctal, "Invalid chmod value %s", c))
				continue
			}
			srv.Chmod = m
		}
		l.cfg.UnixServers = append(l.cfg.UnixServers, srv)
	}
}

// auth reads username and password, which go together.
func (l *loader) auth(s *iniSection) (user, pass string, has, ok bool) {
	user, uv, userSet, ok1 := l.expandedGet(s.name, "username", nil, nil)
	pass, pv, passSet, ok2 := l.expandedGet(s.name, "password", nil, nil)
	if !ok1 || !ok2 {
		return "", "", false, false
	}
	if userSet != passSet {
		v, opt := uv, "username"
		if passSet {
			v, opt = pv, "password"
		}
		l.fail(s.name, opt, v, badValue("set both username and password, or neither",
			"Section [%s] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified", s.name))
		return "", "", false, false
	}
	return user, pass, userSet, true
}
