package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// procs returns name → "STATE pid" of every process, over XML-RPC.
func procs(t *testing.T, c *xmlrpc.Client) map[string]string {
	t.Helper()
	v, err := c.Call(context.Background(), "supervisor.getAllProcessInfo")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, x := range v.([]any) {
		m := x.(map[string]any)
		out[m["name"].(string)] = fmt.Sprintf("%s %v", m["statename"], m["pid"])
	}
	return out
}

// eventually waits until cond holds for the running set.
func eventually(t *testing.T, c *xmlrpc.Client, what string, cond func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ps := procs(t, c)
		if cond(ps) {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: processes are %v", what, ps)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func running(ps map[string]string, names ...string) bool {
	if len(ps) != len(names) {
		return false
	}
	for _, n := range names {
		if !strings.HasPrefix(ps[n], "RUNNING ") {
			return false
		}
	}
	return true
}

func TestDaemon_watchConfigAppliesEdits(t *testing.T) {
	h := newHarness(t, `
[supervisord]
watch_config=true

[unix_http_server]
file=%(here)s/sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[include]
files=conf.d/*.conf
`)
	confd := filepath.Join(h.dir, "conf.d")
	os.Mkdir(confd, 0o755)
	prog := func(name, cmd string) string {
		return fmt.Sprintf("[program:%s]\ncommand=%s\nstartsecs=0\nstopwaitsecs=2\n", name, cmd)
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(confd, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.conf", prog("a", "/bin/sleep 1000"))
	h.run(supervisord)
	c, err := xmlrpc.NewClient("unix://"+filepath.Join(h.dir, "sock"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	h.waitFor(`success: a entered RUNNING`, 10*time.Second)

	// An editor's atomic save: write a temporary file, rename it in.
	tmp := filepath.Join(confd, ".b.conf.tmp")
	os.WriteFile(tmp, []byte(prog("b", "/bin/sleep 1000")), 0o644)
	os.Rename(tmp, filepath.Join(confd, "b.conf"))
	ps := eventually(t, c, "b added", func(ps map[string]string) bool { return running(ps, "a", "b") })

	// Truncate and write: a changes and is restarted with the new command.
	f, _ := os.OpenFile(filepath.Join(confd, "a.conf"), os.O_WRONLY|os.O_TRUNC, 0)
	f.WriteString(prog("a", "/bin/sleep 999"))
	f.Close()
	oldA := ps["a"]
	ps = eventually(t, c, "a restarted", func(ps map[string]string) bool { return running(ps, "a", "b") && ps["a"] != oldA })

	// A broken edit changes nothing that runs.
	write("b.conf", "[program:b]\ncommand=/bin/sleep 1000\nstartsecs=soon\n")
	h.waitFor(`watch_config: not applying the edit, the running configuration stays: .*b.conf:3: \[program:b\] startsecs = 'soon'`, 10*time.Second)
	if now := procs(t, c); now["a"] != ps["a"] || now["b"] != ps["b"] {
		t.Fatalf("a broken edit changed the running set: %v → %v", ps, now)
	}
	// Editors' backup and swap files are ignored; fixing b back to what
	// runs changes nothing either.
	write("b.conf~", "garbage")
	write(".b.conf.swp", "garbage")
	write("b.conf", prog("b", "/bin/sleep 1000"))
	// A sentinel edit written after them: once it is applied, the edits
	// before it have been read too (they are applied in order), so what
	// still runs unchanged was really left alone.
	write("s1.conf", prog("s1", "/bin/sleep 1000"))
	now := eventually(t, c, "sentinel s1 added", func(ps map[string]string) bool { return running(ps, "a", "b", "s1") })
	if now["a"] != ps["a"] || now["b"] != ps["b"] {
		t.Fatalf("restoring b restarted something: %v → %v", ps, now)
	}

	// Renaming a file keeps its program; removing it removes the group.
	os.Rename(filepath.Join(confd, "b.conf"), filepath.Join(confd, "c.conf"))
	write("s2.conf", prog("s2", "/bin/sleep 1000"))
	now = eventually(t, c, "sentinel s2 added", func(ps map[string]string) bool { return running(ps, "a", "b", "s1", "s2") })
	if now["b"] != ps["b"] {
		t.Fatalf("rename restarted b: %v → %v", ps, now)
	}
	os.Remove(filepath.Join(confd, "c.conf"))
	eventually(t, c, "b removed", func(ps map[string]string) bool { return running(ps, "a", "s1", "s2") })

	// A burst of 100 edits in a second ends in the last one.
	for i := 0; i < 100; i++ {
		write("d.conf", prog("d", fmt.Sprintf("/bin/sleep %d", 2000+i)))
		time.Sleep(10 * time.Millisecond)
	}
	eventually(t, c, "d added", func(ps map[string]string) bool { return running(ps, "a", "s1", "s2", "d") })
	v, err := c.Call(context.Background(), "supervisor.getAllConfigInfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v.([]any) {
		m := x.(map[string]any)
		if m["name"] == "d" && m["command"] != "/bin/sleep 2099" {
			t.Errorf("d runs %v after the burst", m["command"])
		}
	}
	// The burst was applied once or a few times, not a hundred (a loaded
	// machine may stall longer than the debounce between two writes).
	n := 0
	for _, l := range h.lines() {
		if strings.Contains(l, "spawned: 'd'") {
			n++
		}
	}
	if n > 10 {
		t.Errorf("d was spawned %d times during a burst of 100 edits", n)
	}
}
