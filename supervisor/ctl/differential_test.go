package ctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/client"
)

// programs is the process table of the differential tests: running,
// exited, fatal, stopped and not-executable programs, a numprocs program,
// a [group:], a program with output in both logs and one without logs.
const programs = `
[program:sleeper]
command=/bin/sleep 1000
startsecs=0

[program:exit3]
command=/bin/sh -c "sleep 0.2; exit 3"
startsecs=0
autorestart=false

[program:fatal]
command=/nonexistent/bin
startretries=0

[program:multi]
command=/bin/sleep 1000
process_name=%(program_name)s_%(process_num)02d
numprocs=2
startsecs=0

[program:talker]
command=/bin/sh -c "echo out; echo err >&2; exec /bin/sleep 1000"
startsecs=0

[program:manual]
command=/bin/sleep 1000
autostart=false
startsecs=0

[program:quick]
command=/bin/sh -c "exit 1"
autostart=false
startsecs=1
startretries=0

[program:noexec]
command=%(here)s/supervisord.conf
autostart=false

[program:nolog]
command=/bin/sleep 1000
startsecs=0
autostart=false
stdout_logfile=NONE
stderr_logfile=NONE

[program:a_program_with_a_name_longer_than_thirty]
command=/bin/sleep 1000
autostart=false

[group:g]
programs=ga,gb

[program:ga]
command=/bin/sleep 1000
startsecs=0

[program:gb]
command=/bin/sleep 1000
startsecs=0
priority=10

[include]
files=conf.d/*.conf
`

func args(line string) []string { return strings.Fields(line) }

// The differential tests: Python's supervisorctl and ours against the same
// Python supervisord. ours_test.go runs them again with our supervisord.

func TestDifferential_readOnly(t *testing.T) { testReadOnly(t, ctlPair(pySupervisord, "Python's")) }
func TestDifferential_actions(t *testing.T)  { testActions(t, ctlPair(pySupervisord, "Python's")) }
func TestDifferential_update(t *testing.T)   { testUpdate(t, ctlPair(pySupervisord, "Python's")) }
func TestDifferential_shutdown(t *testing.T) { testShutdown(t, ctlPair(pySupervisord, "Python's")) }
func TestDifferential_interactive(t *testing.T) {
	testInteractive(t, ctlPair(pySupervisord, "Python's"))
}
func TestDifferential_auth(t *testing.T)  { testAuth(t, ctlPair(pySupervisord, "Python's")) }
func TestDifferential_tailf(t *testing.T) { testTailf(t, ctlPair(pySupervisord, "Python's")) }

// testReadOnly compares every command that does not change the daemon's
// state, and every argument error.
func testReadOnly(t *testing.T, p pair) {
	requirePython(t)
	t.Parallel()
	da, db := startPair(t, p, programs, daemonOpts{})
	da.waitState(t, "exit3", client.StateExited)
	db.waitState(t, "exit3", client.StateExited)
	runRows(t, p, da, db, readOnlyRows)
}

// testActions compares the commands that change processes' states, each
// side starting from the same state.
func testActions(t *testing.T, p pair) {
	requirePython(t)
	t.Parallel()
	da, db := startPair(t, p, programs, daemonOpts{})
	runRows(t, p, da, db, actionRows)
}

// testUpdate compares reread, add, remove and update after the
// configuration changes: each side runs the same sequence against a fresh
// daemon of its own.
func testUpdate(t *testing.T, p pair) {
	requirePython(t)
	t.Parallel()
	const base = `
[program:keep]
command=/bin/sleep 1000
startsecs=0

[include]
files=conf.d/*.conf
`
	type step struct {
		edit func(dir string)
		args []string
	}
	write := func(name, body string) func(string) {
		return func(dir string) { os.WriteFile(filepath.Join(dir, "conf.d", name), []byte(body), 0o644) }
	}
	remove := func(name string) func(string) {
		return func(dir string) { os.Remove(filepath.Join(dir, "conf.d", name)) }
	}
	prepare := []func(string){
		write("old.conf", "[program:old]\ncommand=/bin/sleep 1000\nstartsecs=0\n"),
		write("changed.conf", "[program:changed]\ncommand=/bin/sleep 1000\nstartsecs=0\n"),
	}
	steps := []step{
		{args: args("reread")},
		{args: args("update")},
		{edit: write("new.conf", "[program:new]\ncommand=/bin/sleep 1000\nstartsecs=0\n")},
		{edit: write("changed.conf", "[program:changed]\ncommand=/bin/sleep 999\nstartsecs=0\n")},
		{edit: remove("old.conf")},
		{args: args("reread")},
		{args: args("avail")},
		{args: args("update nonexist new")},
		{args: args("status")},
		{args: args("add new")},
		{args: args("add nonexist")},
		{args: args("remove new")},
		{args: args("stop new")},
		{args: args("remove new nonexist")},
		{args: args("add new")},
		{args: args("update all")},
		{args: args("status")},
		{edit: write("bad.conf", "[program:bad]\n")},
		{args: args("reread")},
		{args: args("update")},
		{edit: remove("bad.conf")},
		{edit: write("g.conf", "[group:grp]\nprograms=keep\n")},
		{args: args("update grp")},
		{args: args("status")},
		{args: args("avail")},
		{args: args("reload x")},
		{args: args("reload")},
	}
	run := func(s side) []result {
		d := startDaemon(t, base, daemonOpts{bin: s.bin})
		for _, f := range prepare {
			f(d.dir)
		}
		d.ctl(t, "update")
		d.settle(t)
		var out []result
		for _, st := range steps {
			if st.edit != nil {
				st.edit(d.dir)
				continue
			}
			r := s.ctl(t, "", 0, append([]string{"-c", d.conf}, st.args...)...)
			out = append(out, r.normalize([]string{d.dir}, true))
			if st.args[0] != "reload" {
				d.settle(t)
			}
		}
		return out
	}
	ra, rb := run(p.a), run(p.b)
	i := 0
	for _, st := range steps {
		if st.edit == nil {
			compare(t, p, strings.Join(st.args, " "), ra[i], rb[i])
			i++
		}
	}
}

// testShutdown compares shutdown, and then every command against the
// daemon that is gone.
func testShutdown(t *testing.T, p pair) {
	requirePython(t)
	t.Parallel()
	lines := []string{"shutdown", "shutdown", "status", "pid", "avail", "reload", "version", "tail x", "start x"}
	run := func(s side) []result {
		d := startDaemon(t, "[program:x]\ncommand=/bin/sleep 1000\nstartsecs=0\n", daemonOpts{bin: s.bin})
		var out []result
		for i, line := range lines {
			out = append(out, s.ctl(t, "", 0, append([]string{"-c", d.conf}, args(line)...)...).normalize([]string{d.dir}, true))
			if i == 0 {
				<-d.exited
			}
		}
		return out
	}
	ra, rb := run(p.a), run(p.b)
	for i, line := range lines {
		compare(t, p, line+" (step "+itoa(i)+")", ra[i], rb[i])
	}
}

// TestDifferential_noServer compares what every kind of command says when
// no server answers, and bad server URLs.
func TestDifferential_noServer(t *testing.T) {
	requirePython(t)
	t.Parallel()
	p := ctlPair("", "no")
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	os.WriteFile(regular, nil, 0o644)
	var rows []string
	for _, url := range []string{"unix://" + dir + "/nonexistent", "unix://" + regular, "http://127.0.0.1:1",
		"https://localhost:9001", "http://localhost:notaport", "http://localhost:99999"} {
		for _, cmd := range []string{"status", "pid", "avail", "reread", "update", "add x", "remove x",
			"shutdown", "reload", "version", "tail x", "maintail", "start x", "stop x", "clear x", "fg x", "signal HUP x",
			"restart x"} {
			rows = append(rows, "-s "+url+" "+cmd)
		}
	}
	rows = append(rows, "-s http://nonexistent.invalid status")
	for _, line := range rows {
		a := args(line)
		compare(t, p, line, pythonCtl(t, "", 0, a...), ourCtl(t, "", 0, a...))
	}
}

// TestDifferential_options compares the command line and configuration
// file handling.
func TestDifferential_options(t *testing.T) {
	requirePython(t)
	t.Parallel()
	p := ctlPair("", "no")
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	noctl := file("noctl.conf", "[supervisord]\n")
	ctlOnly := file("ctlonly.conf", "[supervisorctl]\nserverurl=unix://"+dir+"/nonexistent\n")
	relative := file("relative.conf", "[supervisorctl]\nserverurl=unix://%(here)s/../x/sock\nprompt=p%(ENV_HOME)s\n")
	badExp := file("badexp.conf", "[supervisorctl]\nprompt=%(here)s\n")
	badExp2 := file("badexp2.conf", "[supervisorctl]\nserverurl=unix://%(nothere)s\n")
	plugin := file("plugin.conf", "[supervisorctl]\n[ctlplugin:x]\nfoo=bar\n")
	http := file("http.conf", "[supervisorctl]\nserverurl=http://127.0.0.1:1\n")
	weird := file("weird.conf", "[supervisorctl]\nserverurl=localhost:9001\n")
	lines := [][]string{
		{"-h"}, {"--help"}, {"-?"}, {"-h", "-s", "foo"}, {"-s", "foo", "-h"},
		{"-v"}, {"--version"}, {"-x", "status"}, {"--h"}, {"--s=x"}, {"--serverurl"},
		{"-s", "foo", "status"}, {"-s", "http:", "status"}, {"-s", "http://[::1", "status"},
		{"-s", "http://a[b]", "status"}, {"-s", "x:y", "status"},
		{"-s", "http://x", "-s", "http://y", "status"}, {"-i", "-i", "status"}, {"-c", "a", "-c", "b"},
		{"-u", "a", "--username=b"}, {"-r", "a", "-r", "b"},
		{"-c", filepath.Join(dir, "missing.conf"), "status"}, {"-c", dir, "status"},
		{"-c", noctl, "status"}, {"-c", ctlOnly, "status"}, {"-c", ctlOnly, "pid"},
		{"-c", relative, "status"}, {"-c", badExp, "status"}, {"-c", badExp2, "status"}, {"-c", plugin, "status"},
		{"-c", http, "status"}, {"-c", weird, "status"}, {"-c", ctlOnly, "-s", "http://127.0.0.1:1", "status"},
		{"-c", ctlOnly, "status", "-c", "x"}, {"status"}, {"--configuration=" + ctlOnly, "--interactive", "pid"},
	}
	for _, a := range lines {
		compare(t, p, strings.Join(a, " "), pythonCtl(t, "", 0, a...), ourCtl(t, "", 0, a...))
	}
}

// testInteractive compares the shell fed by a pipe: status first, a
// prompt per line, a newline at EOF, and the history file.
func testInteractive(t *testing.T, p pair) {
	requirePython(t)
	t.Parallel()
	da, db := startPair(t, p, programs, daemonOpts{})
	for _, d := range []*testDaemon{da, db} {
		d.waitState(t, "exit3", client.StateExited)
		os.WriteFile(filepath.Join(d.dir, "hist.conf"),
			[]byte("[supervisorctl]\nserverurl=unix://"+d.sock+"\nprompt=my\nhistory_file=%(here)s/history\n"), 0o644)
	}
	cases := []struct {
		name  string
		args  string
		stdin string
	}{
		{"commands", "-c $CONF", "pid\nfoo\n\n  \nhelp\nhelp status\nstatus g:*\nversion\ntail -3 talker stderr\n"},
		{"quit", "-c $CONF", "pid\nquit\npid\n"},
		{"exit", "-c $CONF", "exit\n"},
		{"EOF command", "-c $CONF", "EOF\npid\n"},
		{"no newline at end", "-c $CONF", "pid"},
		{"empty", "-c $CONF", ""},
		{"-i", "-c $CONF -i", "pid\n"},
		{"-i with a command", "-c $CONF -i pid", "pid\n"},
		{"shutdown declined", "-c $CONF", "shutdown\nno\npid\n"},
		{"shutdown at EOF", "-c $CONF", "shutdown\n"},
		{"reload declined", "-c $CONF -i reload", "n\n"},
		{"reload at EOF", "-c $CONF -i reload", ""},
		{"open", "-c $CONF", "open unix:///nonexistent\npid\nopen unix://$SOCK\npid\n"},
		{"prompt and history", "-c $DIR/hist.conf", "pid\n"},
		{"no server", "-s unix:///nonexistent", "pid\nstatus\n"},
	}
	type outcome struct {
		res  result
		hist string
		mode os.FileMode
	}
	run := func(s side, d *testDaemon, stdin, a string) outcome {
		hist := filepath.Join(d.dir, "history")
		os.Remove(hist)
		r := s.ctl(t, d.expandArgs([]string{stdin})[0], 0, d.expandArgs(args(a))...)
		o := outcome{res: r}
		if data, err := os.ReadFile(hist); err == nil {
			info, _ := os.Stat(hist)
			o.hist, o.mode = string(data), info.Mode()
		} else {
			o.hist = "(no file)"
		}
		return o
	}
	for _, c := range cases {
		oa, ob := run(p.a, da, c.stdin, c.args), run(p.b, db, c.stdin, c.args)
		dirs, pids := []string{da.dir, db.dir}, da != db
		compare(t, p, c.name, oa.res.normalize(dirs, pids), ob.res.normalize(dirs, pids))
		if oa.hist != ob.hist || oa.mode != ob.mode {
			t.Errorf("%s: history file differs: %q (%v), %q (%v)", c.name, oa.hist, oa.mode, ob.hist, ob.mode)
		}
	}
}

// testAuth compares a server that requires a username and password:
// right, wrong and missing credentials, on the command line, in the file
// and (in the shell) typed at the prompt.
func testAuth(t *testing.T, p pair) {
	requirePython(t)
	t.Parallel()
	da, db := startPair(t, p, "[program:x]\ncommand=/bin/sleep 1000\nstartsecs=0\n",
		daemonOpts{user: "admin", pass: "s3cret", ctlAuth: "username=admin\npassword=s3cret\n"})
	for _, d := range []*testDaemon{da, db} {
		os.WriteFile(filepath.Join(d.dir, "bare.conf"), []byte("[supervisorctl]\nserverurl=unix://"+d.sock+"\n"), 0o644)
		os.WriteFile(filepath.Join(d.dir, "wrong.conf"),
			[]byte("[supervisorctl]\nserverurl=unix://"+d.sock+"\nusername=admin\npassword=nope\n"), 0o644)
	}
	cases := []struct{ args, stdin string }{
		{"-c $CONF status", ""},
		{"-c $CONF avail", ""},
		{"-c $DIR/bare.conf status", ""},
		{"-c $DIR/bare.conf avail", ""},
		{"-c $DIR/bare.conf pid", ""},
		{"-c $DIR/wrong.conf status", ""},
		{"-c $DIR/wrong.conf tail -f x", ""},
		{"-c $DIR/bare.conf -u admin -p s3cret pid", ""},
		{"-c $DIR/bare.conf -u admin pid", ""},
		{"-c $DIR/bare.conf -u admin -p bad version", ""},
		{"-c $DIR/bare.conf -i pid", "admin\ns3cret\n"},
		{"-c $DIR/bare.conf -i pid", "admin\nbad\nadmin\ns3cret\n"},
		{"-c $DIR/bare.conf -i pid", "admin\n"},
		{"-c $DIR/bare.conf -i pid", ""},
		{"-c $DIR/bare.conf", "admin\ns3cret\npid\n"},
	}
	for _, c := range cases {
		ra := p.a.ctl(t, c.stdin, 0, da.expandArgs(args(c.args))...)
		rb := p.b.ctl(t, c.stdin, 0, db.expandArgs(args(c.args))...)
		dirs, pids := []string{da.dir, db.dir}, da != db
		compare(t, p, c.args+" <<< "+c.stdin, ra.normalize(dirs, pids), rb.normalize(dirs, pids))
	}
}

// testTailf compares tail -f and maintail -f, stopped with Ctrl-C after a
// second.
func testTailf(t *testing.T, p pair) {
	requirePython(t)
	t.Parallel()
	da, db := startPair(t, p, programs, daemonOpts{})
	lines := []string{"tail -f talker", "tail -f talker stderr", "tail -f nonexist"}
	if da == db {
		lines = append(lines, "maintail -f") // the main logs of two daemons differ in pids and times
	}
	for _, line := range lines {
		ra := p.a.ctl(t, "", time.Second, append([]string{"-c", da.conf}, args(line)...)...)
		rb := p.b.ctl(t, "", time.Second, append([]string{"-c", db.conf}, args(line)...)...)
		dirs := []string{da.dir, db.dir}
		compare(t, p, line, ra.normalize(dirs, false), rb.normalize(dirs, false))
	}
}

// readOnlyRows are the commands that do not change the daemon's state,
// and every argument error.
var readOnlyRows = append(rowsOf(
	"status", "status sleeper", "status g:*", "status g:", "status all", "status nonexist",
	"status g:nonexist", "status nonexist:*", "status sleeper manual", "status sleeper nonexist g:*",
	"status exit3", "status fatal",
	"pid", "pid all", "pid sleeper", "pid manual", "pid nonexist", "pid g:*", "pid sleeper g:ga manual",
	"avail", "avail x",
	"version", "version x",
	"help", "help status", "help help", "help EOF", "help nonexist", "help quit", "help exit",
	"help add", "help avail", "help clear", "help fg", "help maintail", "help open", "help pid", "help reload",
	"help remove", "help reread", "help restart", "help shutdown", "help signal", "help start", "help stop",
	"help tail", "help update", "help version", "help status x", "help  status",
	"foo", "foo bar", "!ls", "?", "? status", "EOF", "quit", "exit",
	"tail talker", "tail talker stderr", "tail -100 talker stderr", "tail -3 talker", "tail -1_0 talker",
	"tail --5 talker", "tail talker STDERR", "tail nolog", "tail nonexist", "tail -x talker", "tail talker foo",
	"tail a b c d", "tail", "tail -5", "tail -f", "tail -3000000000 talker", "tail -5 a b",
	"maintail -30", "maintail -200", "maintail", "maintail -x", "maintail x", "maintail -1 -2", "maintail -3000000000",
	"start", "stop", "restart", "signal", "signal HUP", "clear",
	"fg", "fg a b", "fg nonexist", "fg manual", "fg g:*",
	"shutdown x", "reload x", "reread x",
	"open ftp://x", "open unix:///nonexistent", "open unix://$SOCK", "open http://[::1",
	"status:foo",
),
	row{args: []string{""}},
	row{args: []string{"  status  ", "sleeper"}},
)

// rowsOf makes a row of each command line.
func rowsOf(lines ...string) []row {
	rows := make([]row, len(lines))
	for i, l := range lines {
		rows[i] = row{args: args(l)}
	}
	return rows
}

// actionRows change processes' states; each side starts from the same
// state thanks to the setup commands.
var actionRows = []row{
	{args: args("start manual"), setup: []string{"stop manual"}},
	{args: args("start manual"), setup: []string{"start manual"}},
	{args: args("stop manual"), setup: []string{"start manual"}},
	{args: args("stop manual"), setup: []string{"stop manual"}},
	{args: args("start fatal")},
	{args: args("start quick")},
	{args: args("start noexec")},
	{args: args("start nonexist")},
	{args: args("start nonexist:*")},
	{args: args("start g:*"), setup: []string{"stop g:*"}},
	{args: args("start g:"), setup: []string{"stop g:gb"}},
	{args: args("start g:ga g:gb manual"), setup: []string{"stop g:ga manual"}},
	{args: args("stop g:*"), setup: []string{"start g:*"}, unordered: true},
	{args: args("stop nonexist nonexist:*")},
	{args: args("stop g:ga"), setup: []string{"start g:ga"}},
	{args: args("restart sleeper"), setup: []string{"start sleeper"}},
	{args: args("restart g:*"), setup: []string{"start g:*"}, unordered: true},
	{args: args("restart manual"), setup: []string{"stop manual"}},
	{args: args("signal WINCH sleeper")},
	{args: args("signal winch g:*")},
	{args: args("signal 28 multi:*")},
	{args: args("signal FOO sleeper")},
	{args: args("signal 999 sleeper")},
	{args: args("signal HUP manual"), setup: []string{"stop manual"}},
	{args: args("signal HUP nonexist nonexist:*")},
	{args: args("signal WINCH all")},
	{args: args("clear sleeper")},
	{args: args("clear nonexist")},
	{args: args("clear g:*")},
	{args: args("clear sleeper g:ga")},
	{args: args("clear all")},
	{args: args("stop all"), setup: []string{"start all"}, settle: true, exited: []string{"exit3"}, unordered: true},
	{args: args("start all"), setup: []string{"stop all"}, unordered: true},
	{args: args("restart all"), setup: []string{"start all"}, settle: true, exited: []string{"exit3"}, unordered: true},
}
