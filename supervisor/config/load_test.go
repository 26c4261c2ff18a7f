package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (relative name → content) under a new folder and
// returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func load(t *testing.T, dir string) (*Config, error) {
	t.Helper()
	return LoadWith(filepath.Join(dir, "supervisord.conf"), Options{Environ: []string{"HOME=/root", "APP=demo"}, Hostname: "box"})
}

func TestLoad_errorsNameFileLineSectionOptionValue(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of each error line, in order; {dir} is the folder
	}{
		{
			name: "included file errors point into that file",
			files: map[string]string{
				"supervisord.conf": "[supervisord]\n[include]\nfiles = conf.d/*.conf\n",
				"conf.d/a.conf":    "[program:a]\ncommand=/bin/true\n\nstartsecs=soon\n",
				"conf.d/b.conf":    "; b\n[program:b]\ncommand=/bin/true\nexitcodes=0,300\n",
			},
			want: []string{
				"{dir}/conf.d/a.conf:4: [program:a] startsecs = 'soon': invalid literal for int() with base 10: 'soon' (use a whole number)",
				"{dir}/conf.d/b.conf:4: [program:b] exitcodes = '0,300': not a valid list of exit codes: '0,300' (use a comma-separated list of exit codes from 0 to 255)",
			},
		},
		{
			name: "DEFAULT value errors point at the DEFAULT line",
			files: map[string]string{
				"supervisord.conf": "[DEFAULT]\nautostart=perhaps\n[supervisord]\n[program:x]\ncommand=/bin/true\n",
			},
			want: []string{"{dir}/supervisord.conf:2: [program:x] autostart = 'perhaps': not a valid boolean value: 'perhaps'"},
		},
		{
			name: "missing command names the section header",
			files: map[string]string{
				"supervisord.conf": "[supervisord]\n\n[program:nocmd]\nautostart=false\n",
			},
			want: []string{"{dir}/supervisord.conf:3: [program:nocmd] command: program section program:nocmd does not specify a command (add command="},
		},
		{
			name: "every syntax error line, as Python collects them",
			files: map[string]string{
				"supervisord.conf": "[supervisord]\nthis is not an option\nok=1\nneither is this\n",
			},
			want: []string{
				"{dir}/supervisord.conf:2: Source contains parsing errors: 'this is not an option' is not a section header",
				"{dir}/supervisord.conf:4: Source contains parsing errors: 'neither is this'",
			},
		},
		{
			name: "byte order mark",
			files: map[string]string{
				"supervisord.conf": "\ufeff[supervisord]\n",
			},
			want: []string{"{dir}/supervisord.conf:1: File contains no section headers: the file starts with a byte order mark"},
		},
		{
			name: "unknown expansion names the option and the name",
			files: map[string]string{
				"supervisord.conf": "[supervisord]\n[program:x]\ncommand=/bin/%(ENV_NOPE)s\n",
			},
			want: []string{"{dir}/supervisord.conf:3: [program:x] command = '/bin/%(ENV_NOPE)s': Format string '/bin/%(ENV_NOPE)s' for 'program:x.command' contains names ('ENV_NOPE') which cannot be expanded. Available names: group_name, here, host_node_name, numprocs, process_num, program_name, ENV_<name> for each environment variable"},
		},
		{
			name: "independent errors in several sections, in file order",
			files: map[string]string{
				"supervisord.conf": "[inet_http_server]\nport=:99999\n[supervisord]\nloglevel=loud\n[group:g]\nprograms=ghost\n[eventlistener:l]\ncommand=/bin/cat\nevents=NOPE\n",
			},
			want: []string{
				"{dir}/supervisord.conf:2: [inet_http_server] port = ':99999': 99999 is above upper bound (65535)",
				"{dir}/supervisord.conf:4: [supervisord] loglevel = 'loud'",
				"{dir}/supervisord.conf:6: [group:g] programs = 'ghost': [group:g] names unknown program or fcgi-program ghost",
				"{dir}/supervisord.conf:9: [eventlistener:l] events = 'NOPE': Unknown event type NOPE in [eventlistener:l] events",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			_, err := load(t, dir)
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("want Errors, got %v", err)
			}
			if len(es) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(es), len(tt.want), err)
			}
			for i, w := range tt.want {
				w = strings.ReplaceAll(w, "{dir}", dir)
				if !strings.Contains(es[i].Error(), w) {
					t.Errorf("error %d:\n got  %s\n want %s", i, es[i], w)
				}
			}
		})
	}
}

func TestLoad_warnings(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"supervisord.conf":    "[supervisord]\n[include]\nfiles = conf.d/*.conf none/*.conf\n",
		"conf.d/1.conf":       "[program:app]\ncommand=/bin/true\npriority=5\n",
		"conf.d/2.conf":       "[program:app]\npriority=7\n[include]\nfiles=more/*.conf\n",
		"conf.d/.hidden.conf": "[program:hidden]\ncommand=/bin/true\n",
		"conf.d/3.conf":       "",
		// A folder matching the glob cannot be read, even by root.
		"conf.d/dir.conf/x": "",
	})
	if err := os.Chmod(filepath.Join(dir, "conf.d/3.conf"), 0); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	var ws []string
	for _, w := range cfg.Warnings {
		ws = append(ws, w.Error())
	}
	all := strings.Join(ws, "\n")
	for _, want := range []string{
		`No file matches via include "` + dir + `/none/*.conf"`,
		"section [program:app] in " + dir + "/conf.d/2.conf was already defined in " + dir + "/conf.d/1.conf",
		"[include] in an included file is ignored",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if !strings.Contains(all, "could not read included file "+dir+"/conf.d/dir.conf") {
		t.Errorf("no warning for the folder matching the include:\n%s", all)
	}
	if os.Getuid() != 0 && !strings.Contains(all, "could not read included file "+dir+"/conf.d/3.conf") {
		t.Errorf("no warning for the unreadable include:\n%s", all)
	}
	if len(cfg.Groups) != 1 || cfg.Groups[0].Name != "app" || cfg.Groups[0].Priority != 7 {
		t.Fatalf("merged program: %+v", cfg.Groups)
	}
	if got := cfg.Groups[0].Processes[0].Command; got != "/bin/true" {
		t.Errorf("merged command %q", got)
	}
}

func TestLoad_expansionScopes(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"supervisord.conf": `[supervisord]
environment=BASE="/srv/%(ENV_APP)s",SHARED=sup
[include]
files=conf.d/*.conf
`,
		"conf.d/web.conf": `[program:web]
command=%(here)s/run --name %(program_name)s-%(process_num)02d on %(host_node_name)s of %(numprocs)d
process_name=%(program_name)s_%(process_num)d
numprocs=2
numprocs_start=8
environment=DATA="%(ENV_BASE)s/data",SHARED=prog
directory=%(ENV_DATA)s
stdout_logfile=%(here)s/%(program_name)s-%(process_num)d.log
`,
	})
	cfg, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	ps := cfg.Groups[0].Processes
	if len(ps) != 2 {
		t.Fatalf("processes %d", len(ps))
	}
	p := ps[1]
	conf := dir + "/conf.d"
	if p.Name != "web_9" || p.Command != conf+"/run --name web-09 on box of 2" {
		t.Errorf("name %q command %q", p.Name, p.Command)
	}
	if *p.Directory != "/srv/demo/data" || p.Stdout.Path != conf+"/web-9.log" {
		t.Errorf("directory %q stdout %q", *p.Directory, p.Stdout.Path)
	}
	want := Environment{{"BASE", "/srv/demo"}, {"SHARED", "prog"}, {"DATA", "/srv/demo/data"}}
	if len(p.Environment) != len(want) {
		t.Fatalf("environment %v", p.Environment)
	}
	for i := range want {
		if p.Environment[i] != want[i] {
			t.Errorf("environment %v, want %v", p.Environment, want)
		}
	}
}

func TestConfig_Validate(t *testing.T) {
	dir := writeTree(t, map[string]string{"supervisord.conf": "[supervisord]\n[program:a]\ncommand=/bin/true\n"})
	cfg, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("loaded config does not validate: %v", err)
	}
	p := cfg.Groups[0].Processes[0]
	p.StopSignal = 40
	p.StopAsGroup, p.KillAsGroup = true, false
	p.ExitCodes = []int{0, 256}
	err = cfg.Validate()
	for _, want := range []string{"stopsignal = '40'", "killasgroup = 'false'", "exitcodes = '256'"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}
