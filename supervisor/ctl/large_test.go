package ctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pythonAndOurs compares Python's supervisorctl on Python's supervisord
// with ours on ours: what a user sees with either product.
func pythonAndOurs(t *testing.T) pair {
	return pair{side{"Python's supervisorctl (Python's supervisord)", pySupervisord, pythonCtl},
		side{"our supervisorctl (our supervisord)", ourSupervisord(t), ourCtl}}
}

// firstDifference describes where two long outputs part.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	clip := func(s string) string { return s[i:min(len(s), i+200)] }
	return fmt.Sprintf("lengths %d and %d, first difference at byte %d: %q vs %q", len(a), len(b), i, clip(a), clip(b))
}

// Issue 20, item 6: answers over the servers' 8 MB request cap reach our
// supervisorctl (it said "xmlrpc: document too large"): avail of 4,000
// processes (getAllConfigInfo, about 10 MB) and tail -12000000 of a 12 MB
// log print what Python's print.
func TestLargeAnswers_availAndTail(t *testing.T) {
	requirePython(t)
	t.Parallel()
	const body = `
[program:many]
command=/bin/sleep 1000
process_name=%(program_name)s_%(process_num)04d
numprocs=4000
autostart=false

[program:talker]
command=/bin/sh -c "yes 'a line of the talker log' | head -c 12000000; exec /bin/sleep 1000"
startsecs=0
stdout_logfile=%(here)s/talker.log
stdout_logfile_maxbytes=0
`
	p := pythonAndOurs(t)
	var got [2][]result
	for i, s := range []side{p.a, p.b} {
		d := startDaemon(t, body, daemonOpts{bin: s.bin, settle: 3 * time.Minute})
		waitSize(t, filepath.Join(d.dir, "talker.log"), 12000000)
		for _, line := range []string{"avail", "tail -12000000 talker"} {
			r := s.ctl(t, "", 0, append([]string{"-c", d.conf}, args(line)...)...)
			got[i] = append(got[i], r.normalize([]string{d.dir}, true))
		}
		d.stop()
	}
	for i, line := range []string{"avail", "tail -12000000 talker"} {
		a, b := got[0][i], got[1][i]
		if a.code != 0 || strings.Count(a.stdout, "\n") < 4000 {
			t.Fatalf("%s with Python: exit %d, %d bytes; stderr %s", line, a.code, len(a.stdout), a.stderr)
		}
		if a.code != b.code || a.stderr != b.stderr || a.stdout != b.stdout {
			t.Errorf("supervisorctl %s: exit %d and %d, stderr %q and %q, stdout %s", line, a.code, b.code, a.stderr, b.stderr, firstDifference(a.stdout, b.stdout))
		}
	}
}

func waitSize(t *testing.T, path string, size int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() >= size {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %d bytes", path, size)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Issue 20, item 7: reread and update with an INI syntax error say which
// file and line, in Python's words (ours said only what was wrong).
func TestRereadSyntaxError_namesFileAndLine(t *testing.T) {
	requirePython(t)
	t.Parallel()
	broken := []string{
		"[program:a]\ncommand=/bin/sleep 1000\nthis is not ini\nnor this\n",
		"[program:a\ncommand=/bin/sleep 1000\n",
		"garbage first\n[program:a]\ncommand=/bin/sleep 1000\n",
	}
	p := pythonAndOurs(t)
	var got [2][]result
	for i, s := range []side{p.a, p.b} {
		d := startDaemon(t, "[include]\nfiles=conf.d/*.conf\n", daemonOpts{bin: s.bin})
		for _, text := range broken {
			if err := os.WriteFile(filepath.Join(d.dir, "conf.d", "a.conf"), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, line := range []string{"reread", "update"} {
				r := s.ctl(t, "", 0, append([]string{"-c", d.conf}, args(line)...)...)
				got[i] = append(got[i], r.normalize([]string{d.dir}, true))
			}
		}
	}
	for i, r := range got[1] {
		what := fmt.Sprintf("%s of broken file %d", []string{"reread", "update"}[i%2], i/2+1)
		compare(t, p, what, got[0][i], r)
		if !strings.Contains(r.stdout+r.stderr, "$DIR/conf.d/a.conf") {
			t.Errorf("%s does not name the file:\n%s", what, r)
		}
	}
}
