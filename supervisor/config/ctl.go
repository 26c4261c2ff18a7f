package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LoadCtl reads the [supervisorctl] section of the file at path as Python's
// supervisorctl (ClientOptions.read_config) does: the file alone, without
// its [include]s and without needing a [supervisord] section. environ is
// what %(ENV_X)s reads (nil means os.Environ()).
//
// The errors Python reports as a usage error come back as plain errors
// whose text is Python's, byte for byte ("could not find config file X",
// ".ini file does not include supervisorctl section", an expansion that
// fails). A file that is not INI at all, which Python's supervisorctl
// crashes on, comes back as Errors.
func LoadCtl(path string, environ []string) (*Supervisorctl, error) {
	if environ == nil {
		environ = os.Environ()
	}
	here := filepath.Dir(normalizePath(path))
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("could not find config file %s", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read config file %s", path)
	}
	l := &loader{file: path, cfg: &Config{File: path}, doc: newIniDoc(), env: expansions{}}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			l.env["ENV_"+k] = v
		}
	}
	if err := l.doc.read(path, data); err != nil {
		l.syntaxFail(err)
		return nil, l.errs
	}
	const sec = "supervisorctl"
	if !l.doc.has(sec) {
		return nil, errors.New(".ini file does not include supervisorctl section")
	}
	// get is Python's parser.getdefault: the value or def, expanded.
	get := func(opt string, def *string, exp expansions) (string, bool, error) {
		val := def
		v, set := l.doc.get(sec, opt)
		if set {
			val = &v.text
		}
		if val == nil {
			return "", false, nil
		}
		all := l.env.with(exp)
		out, err := expand(*val, all, sec+"."+opt)
		if err != nil {
			return "", set, pythonExpandError(*val, sec+"."+opt, all, err)
		}
		return out, set, nil
	}
	hereExp := expansions{"here": here}
	c := &Supervisorctl{}
	if c.ServerURL, _, err = get("serverurl", ptr(DefaultServerURL), hereExp); err != nil {
		return nil, err
	}
	if rest, ok := strings.CutPrefix(c.ServerURL, "unix://"); ok {
		c.ServerURL = "unix://" + normalizePath(rest)
	}
	if c.Prompt, _, err = get("prompt", ptr(DefaultPrompt), nil); err != nil {
		return nil, err
	}
	if c.Username, c.UsernameSet, err = get("username", nil, nil); err != nil {
		return nil, err
	}
	if c.Password, c.PasswordSet, err = get("password", nil, nil); err != nil {
		return nil, err
	}
	hist, _, err := get("history_file", nil, hereExp)
	if err != nil {
		return nil, err
	}
	if hist != "" {
		c.HistoryFile = normalizePath(hist)
	}
	// [ctlplugin:x] sections name Python factories, which cannot load here.
	for _, s := range l.doc.sections {
		if !strings.HasPrefix(s.name, "ctlplugin:") {
			continue
		}
		const key = "supervisor.ctl_factory"
		v, ok := l.doc.get(s.name, key)
		if !ok {
			return nil, fmt.Errorf("section [%s] does not specify a %s", s.name, key)
		}
		spec, err := expand(v.text, l.env, s.name+"."+key)
		if err != nil {
			return nil, pythonExpandError(v.text, s.name+"."+key, l.env, err)
		}
		return nil, fmt.Errorf("%s cannot be resolved within [%s]", spec, s.name)
	}
	return c, nil
}

// pythonExpandError rewords an expansion error as Python's ValueError,
// which lists every available name, environment variables included.
func pythonExpandError(s, what string, e expansions, err error) error {
	var xe *expandError
	if !errors.As(err, &xe) || xe.Missing == "" {
		return err
	}
	names := make([]string, 0, len(e))
	for k := range e {
		names = append(names, k)
	}
	sort.Strings(names)
	return fmt.Errorf("Format string %s for %s contains names (%s) which cannot be expanded. Available names: %s",
		pyRepr(s), pyRepr(what), pyRepr(xe.Missing), strings.Join(names, ", "))
}
