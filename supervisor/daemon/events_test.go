package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// TestEvents_matchPythonSupervisord runs a listener written with Python's
// supervisor.childutils under Python's supervisord and under ours, through
// the same scenario, and compares what it receives.
func TestEvents_matchPythonSupervisord(t *testing.T) {
	if _, err := os.Stat("/usr/bin/supervisord"); err != nil {
		t.Fatal("Python supervisord is not installed (scripts/test installs it)")
	}
	listener, _ := filepath.Abs("testdata/listener.py")
	run := func(bin string) []map[string]any {
		h := newHarness(t, fmt.Sprintf(`
[unix_http_server]
file=%%(here)s/sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[eventlistener:watcher]
command=/usr/bin/python3 -I %s %%(here)s/events.jsonl
events=PROCESS_STATE,PROCESS_GROUP,REMOTE_COMMUNICATION,SUPERVISOR_STATE_CHANGE,PROCESS_COMMUNICATION,PROCESS_LOG
buffer_size=50
directory=/

[program:quick]
command=/bin/sh -c "sleep 1.5; exit 0"
startsecs=1
autorestart=false

[program:talker]
command=/bin/sh -c "echo hello; printf '<!--XSUPERVISOR:BEGIN-->secret message<!--XSUPERVISOR:END-->'; sleep 1000"
startsecs=0
stdout_events_enabled=true
stdout_capture_maxbytes=1KB
`, listener))
		h.run(bin)
		h.waitFor(`exited: quick \(exit status 0; expected\)`, 15*time.Second)
		sock := filepath.Join(h.dir, "sock")
		for i := 0; i < 200; i++ {
			if c, err := net.Dial("unix", sock); err == nil {
				c.Close()
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		c, err := xmlrpc.NewClient("unix://"+sock, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Call(context.Background(), "supervisor.sendRemoteCommEvent", "greeting", "hi there"); err != nil {
			t.Fatal(err)
		}
		// Wait until the listener has the event twice (it rejects the
		// first delivery) and the talker's captured message.
		events := filepath.Join(h.dir, "events.jsonl")
		deadline := time.Now().Add(30 * time.Second)
		for {
			data, _ := os.ReadFile(events)
			if strings.Count(string(data), `"eventname": "REMOTE_COMMUNICATION"`) >= 2 &&
				strings.Contains(string(data), `"eventname": "PROCESS_COMMUNICATION_STDOUT"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the listener did not get REMOTE_COMMUNICATION twice and the talker's message within 30 s:\n%s", bin, data)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := h.stop(20 * time.Second); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(h.dir, "events.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var evs []map[string]any
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e map[string]any
			json.Unmarshal(sc.Bytes(), &e)
			evs = append(evs, e)
		}
		return evs
	}
	py := run("/usr/bin/supervisord")
	ours := run(supervisord)
	// Per source (process, group or daemon), the same events in the same
	// order, with pids and serials aside; the serials must count up.
	// State changes and output are separate sequences: which comes first
	// depends on timing. So does everything once the shutdown begins.
	seq := func(evs []map[string]any) map[string][]string {
		out := map[string][]string{}
		for _, e := range evs {
			h := e["headers"].(map[string]any)
			name := h["eventname"].(string)
			if name == "SUPERVISOR_STATE_CHANGE_STOPPING" {
				break
			}
			payload := pidRE2.ReplaceAllString(e["payload"].(string), "pid:N")
			key := "daemon"
			if m := regexp.MustCompile(`(processname|groupname):(\S+)`).FindStringSubmatch(payload); m != nil {
				key = m[2]
			}
			if strings.HasPrefix(name, "PROCESS_LOG") || strings.HasPrefix(name, "PROCESS_COMM") {
				key += " output"
			}
			out[key] = append(out[key], fmt.Sprintf("%s %s", name, payload))
		}
		return out
	}
	p, o := seq(py), seq(ours)
	var keys []string
	for k := range p {
		keys = append(keys, k)
	}
	for k := range o {
		if _, ok := p[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.Join(p[k], "\n") != strings.Join(o[k], "\n") {
			t.Errorf("events about %s:\n Python\n  %s\n ours\n  %s", k, strings.Join(p[k], "\n  "), strings.Join(o[k], "\n  "))
		}
	}
	if len(ours) < 10 {
		t.Errorf("only %d events received", len(ours))
	}
	// Serials count up across the run, pool serials too, and the
	// rejected REMOTE_COMMUNICATION came twice with the same serial.
	var last, lastPool float64 = -1, -1
	remote := 0
	for _, e := range ours {
		h := e["headers"].(map[string]any)
		var s, ps float64
		fmt.Sscan(h["serial"].(string), &s)
		fmt.Sscan(h["poolserial"].(string), &ps)
		if h["eventname"] == "REMOTE_COMMUNICATION" {
			remote++
			if remote == 2 {
				continue // the same event again
			}
		}
		if s <= last || ps <= lastPool {
			t.Errorf("serials out of order: %v after %v/%v", h, last, lastPool)
		}
		last, lastPool = s, ps
		if h["ver"] != "3.0" || h["server"] != "supervisor" || h["pool"] != "watcher" {
			t.Errorf("header %v", h)
		}
	}
	if remote != 2 {
		t.Errorf("REMOTE_COMMUNICATION received %d times, want 2 (once rejected)", remote)
	}
}

var pidRE2 = regexp.MustCompile(`pid:\d+`)
