package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoad_readinessErrors(t *testing.T) {
	const head = "[supervisord]\n"
	tests := []struct {
		name, body string
		want       []string // substrings of the error, {dir} is the folder
	}{
		{"unknown name", "[program:app]\ncommand=/bin/true\ndepends_on=caddy\n",
			[]string{"{dir}/supervisord.conf:4: [program:app] depends_on = 'caddy': app names caddy, which is no program or group of this configuration"}},
		{"unknown bind_to", "[program:app]\ncommand=/bin/true\nbind_to=x:*\n",
			[]string{"{dir}/supervisord.conf:4: [program:app] bind_to = 'x:*': app names x:*"}},
		{"cycle names its members", "[program:a]\ncommand=/bin/true\ndepends_on=b\n[program:b]\ncommand=/bin/true\ndepends_on=a\n",
			[]string{"{dir}/supervisord.conf:4: [program:a] depends_on = 'b': dependency cycle: a -> b -> a"}},
		{"cycle through a group", "[group:g]\nprograms=x,y\n[program:x]\ncommand=/bin/true\n[program:y]\ncommand=/bin/true\ndepends_on=g:*\n",
			[]string{"[program:y] depends_on = 'g:*': g:y depends on itself"}},
		{"bind_to makes a cycle too", "[program:a]\ncommand=/bin/true\nbind_to=b\n[program:b]\ncommand=/bin/true\ndepends_on=a\n",
			[]string{"dependency cycle: a -> b -> a"}},
		{"bad check", "[program:app]\ncommand=/bin/true\nready=tcp:1111\n",
			[]string{"{dir}/supervisord.conf:4: [program:app] ready = 'tcp:1111': not a readiness check: want tcp:HOST:PORT", "(use tcp:HOST:PORT, http://URL"}},
		{"bad timeout", "[program:app]\ncommand=/bin/true\nready_timeout=soon\n",
			[]string{"{dir}/supervisord.conf:4: [program:app] ready_timeout = 'soon': not a number of seconds: 'soon'"}},
		{"bad interval", "[program:app]\ncommand=/bin/true\nready_interval=-1\n",
			[]string{"[program:app] ready_interval = '-1': not a number of seconds"}},
		{"bad list", "[program:app]\ncommand=/bin/true\ndepends_on=a,,b\n",
			[]string{"[program:app] depends_on = 'a,,b': empty name in the list 'a,,b'"}},
		{"bad restart", "[program:app]\ncommand=/bin/true\nready_restart=maybe\n",
			[]string{"[program:app] ready_restart = 'maybe': not a valid boolean value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"supervisord.conf": head + tt.body})
			_, err := load(t, dir)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tt.want {
				if w = strings.ReplaceAll(w, "{dir}", dir); !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestLoad_readinessValues(t *testing.T) {
	dir := writeTree(t, map[string]string{"supervisord.conf": `[supervisord]
[program:x]
command=/bin/true
[program:web]
command=/bin/true
numprocs=2
process_name=web%(process_num)d
depends_on = x , provisioning, x
bind_to=x
ready=tcp:127.0.0.1:80%(process_num)02d
ready_timeout=1.5
ready_interval=0.25
ready_restart=yes
[program:provisioning]
command=/bin/true
`})
	cfg, err := load(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	web := Resolve(cfg.Groups, "web")
	if len(web) != 2 {
		t.Fatalf("Resolve(web) = %d processes", len(web))
	}
	p := web[1]
	if !reflect.DeepEqual(p.DependsOn, []string{"x", "provisioning"}) || !reflect.DeepEqual(p.BindTo, []string{"x"}) {
		t.Errorf("depends_on %q, bind_to %q", p.DependsOn, p.BindTo)
	}
	if p.Ready == nil || p.Ready.Target != "127.0.0.1:8001" {
		t.Errorf("ready = %+v, want tcp 127.0.0.1:8001 (expanded per process)", p.Ready)
	}
	if p.ReadyTimeout != 1500*time.Millisecond || p.ReadyInterval != 250*time.Millisecond || !p.ReadyRestart {
		t.Errorf("timeout %v interval %v restart %v", p.ReadyTimeout, p.ReadyInterval, p.ReadyRestart)
	}
	x := Resolve(cfg.Groups, "x")[0]
	if x.Ready != nil || x.ReadyTimeout != DefaultReadyTimeout || x.ReadyInterval != DefaultReadyInterval || x.DependsOn != nil {
		t.Errorf("defaults: %+v", x)
	}
	eff := p.effective()
	if eff["ready"] != "tcp:127.0.0.1:8001" || eff["ready_timeout"] != 1.5 || !reflect.DeepEqual(eff["depends_on"], []string{"x", "provisioning"}) {
		t.Errorf("effective: ready %v timeout %v depends_on %v", eff["ready"], eff["ready_timeout"], eff["depends_on"])
	}
}

func TestResolve(t *testing.T) {
	a := &Process{Name: "a", Group: "g", Program: "a"}
	b := &Process{Name: "b_0", Group: "g", Program: "b"}
	c := &Process{Name: "c", Group: "c", Program: "c"}
	groups := []*Group{{Name: "g", Processes: []*Process{a, b}}, {Name: "c", Processes: []*Process{c}}}
	for name, want := range map[string][]*Process{
		"g": {a, b}, "g:*": {a, b}, "g:b_0": {b}, "b": {b}, "c": {c}, "c:c": {c}, "g:zzz": nil, "zzz": nil, "b_0": nil,
	} {
		if got := Resolve(groups, name); !reflect.DeepEqual(got, want) {
			t.Errorf("Resolve(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzParseDependsOn(f *testing.F) {
	for _, s := range []string{"a, b, group:*", "g:x", "g:", ",", "a b", "x:*:y", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ParseDependsOn(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, n := range names {
			g, p, _ := strings.Cut(n, ":")
			if g == "" || strings.ContainsAny(n, " \t\r\n/,") || strings.Contains(p, ":") || seen[n] {
				t.Fatalf("ParseDependsOn(%q) gave %q", s, names)
			}
			seen[n] = true
		}
		again, err := ParseDependsOn(strings.Join(names, ","))
		if err != nil || !reflect.DeepEqual(again, names) {
			t.Fatalf("ParseDependsOn(%q) = %q, joined again: %q, %v", s, names, again, err)
		}
	})
}
