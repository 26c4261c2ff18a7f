package config

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ctlOracle prints what Python's supervisorctl reads from a file: its
// options once realized, or the usage error it exits with.
const ctlOracle = `
import io, json, sys
from supervisor.options import ClientOptions
o = ClientOptions()
err = io.StringIO()
o.stderr = err
try:
    o.realize(['-c', sys.argv[1], 'status'])
except SystemExit:
    print(json.dumps({'error': err.getvalue()}))
    sys.exit(0)
except Exception as e:
    print(json.dumps({'crash': type(e).__name__}))
    sys.exit(0)
print(json.dumps({'serverurl': o.serverurl, 'prompt': o.prompt, 'username': o.username,
                  'password': o.password, 'history_file': o.history_file}))
`

type ctlOracleResult struct {
	Error       *string `json:"error"`
	Crash       *string `json:"crash"`
	ServerURL   string  `json:"serverurl"`
	Prompt      string  `json:"prompt"`
	Username    *string `json:"username"`
	Password    *string `json:"password"`
	HistoryFile *string `json:"history_file"`
}

// TestLoadCtl compares LoadCtl with Python's ClientOptions on files that
// exercise every option, the defaults, expansions and every error.
func TestLoadCtl(t *testing.T) {
	if _, err := os.Stat("/usr/bin/supervisorctl"); err != nil {
		t.Fatal("Debian's Python supervisor is not installed (/usr/bin/supervisorctl is missing); scripts/test installs it")
	}
	dir := t.TempDir()
	cases := map[string]string{
		"full":            "[supervisorctl]\nserverurl=unix://%(here)s/../run//x.sock\nusername=u%(ENV_HOME)s\npassword=p\nprompt=hey\nhistory_file=%(here)s/hist\n",
		"defaults":        "[supervisorctl]\n",
		"empty values":    "[supervisorctl]\nusername=\npassword=\nhistory_file=\nprompt=\n",
		"http":            "[supervisorctl]\nserverurl = http://%(ENV_HOME)s:9001 ; comment\n",
		"DEFAULT":         "[DEFAULT]\nprompt=fromdefault\n[supervisorctl]\n",
		"no section":      "[supervisord]\n[program:x]\ncommand=y\n",
		"bad here":        "[supervisorctl]\nprompt=%(here)s\n",
		"bad name":        "[supervisorctl]\nserverurl=%(nope)s\n",
		"bad format":      "[supervisorctl]\nusername=%(ENV_HOME)\n",
		"plugin":          "[supervisorctl]\n[ctlplugin:x]\nfoo=1\n",
		"plugin factory":  "[supervisorctl]\n[ctlplugin:x]\nsupervisor.ctl_factory=nope.module:make\n",
		"ignores include": "[supervisorctl]\n[include]\nfiles=nonexistent/*.conf\n",
		"syntax":          "garbage\n[supervisorctl]\n",
	}
	paths := map[string]string{"missing": filepath.Join(dir, "missing.conf"), "directory": dir}
	for name, body := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".conf")
		os.WriteFile(p, []byte(body), 0o644)
		paths[name] = p
	}
	for name, p := range paths {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command("/usr/bin/python3", "-c", ctlOracle, p).Output()
			if err != nil {
				t.Fatalf("oracle: %v", err)
			}
			var want ctlOracleResult
			if err := json.Unmarshal(out, &want); err != nil {
				t.Fatalf("oracle output %q: %v", out, err)
			}
			got, err := LoadCtl(p, nil)
			switch {
			case want.Crash != nil:
				var es Errors
				if !errors.As(err, &es) {
					t.Errorf("Python crashes (%s); LoadCtl = %+v, %v, want Errors", *want.Crash, got, err)
				}
			case want.Error != nil:
				wantMsg := strings.TrimPrefix(strings.SplitN(*want.Error, "\n", 2)[0], "Error: ")
				if err == nil || err.Error() != wantMsg {
					t.Errorf("error = %v\nwant    %s", err, wantMsg)
				}
			default:
				if err != nil {
					t.Fatalf("LoadCtl: %v", err)
				}
				opt := func(s string, set bool) *string {
					if !set {
						return nil
					}
					return &s
				}
				hist := opt(got.HistoryFile, got.HistoryFile != "")
				if got.ServerURL != want.ServerURL || got.Prompt != want.Prompt ||
					!sameOpt(opt(got.Username, got.UsernameSet), want.Username) ||
					!sameOpt(opt(got.Password, got.PasswordSet), want.Password) || !sameOpt(hist, want.HistoryFile) {
					t.Errorf("LoadCtl = %+v\nPython   %+v", got, want)
				}
			}
		})
	}
}

func sameOpt(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
