package storagemonitor

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gpudesk/runtime/supervisor/config"
)

// TestConfFile loads conf.d/storagemonitor.conf, included from a minimal
// supervisord.conf, in our config loader and in Python supervisor 4.2.5.
func TestConfFile(t *testing.T) {
	conf, err := filepath.Abs("../../conf.d/storagemonitor.conf")
	if err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(t.TempDir(), "supervisord.conf")
	write(t, main, "[supervisord]\nlogfile=/dev/null\npidfile="+filepath.Join(filepath.Dir(main), "sd.pid")+"\n\n[include]\nfiles = "+conf+"\n")

	cfg, err := config.Load(main)
	if err != nil {
		t.Fatalf("our loader rejects it: %v", err)
	}
	if len(cfg.Groups) != 1 || len(cfg.Groups[0].Processes) != 1 {
		t.Fatalf("groups %+v", cfg.Groups)
	}
	p := cfg.Groups[0].Processes[0]
	if p.Name != "storagemonitor" || p.Command != "/usr/local/bin/storagemonitor" || p.Priority != 50 || p.User != "" ||
		!p.Autostart || !p.RedirectStderr || p.Stdout.Path != "/var/log/supervisor/storagemonitor.log" {
		t.Fatalf("process %+v (stdout %+v)", p, p.Stdout)
	}
	if p.Ready == nil || p.Ready.Text != "absent:/run/workspace_sync" {
		t.Fatalf("ready = %+v, want absent:/run/workspace_sync", p.Ready)
	}

	// Python supervisor is the reference this file must load in; without
	// it the test cannot say anything, so it fails rather than skips.
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import supervisor.options").CombinedOutput(); err != nil {
		t.Fatalf("Debian's Python supervisor 4.2.5 is needed (%s -c 'import supervisor.options': %v %s); scripts/test installs it (apt-get install supervisor)", py, err, out)
	}
	check := `import sys
from supervisor.options import ServerOptions
o = ServerOptions()
o.realize(["-c", sys.argv[1]])
g = o.process_group_configs
assert len(g) == 1 and g[0].name == "storagemonitor", g
p = g[0].process_configs[0]
assert p.command == "/usr/local/bin/storagemonitor" and p.priority == 50 and p.uid is None, vars(p)
print("ok")
`
	out, err := exec.Command(py, "-c", check, main).CombinedOutput()
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("Python supervisor: %v\n%s", err, out)
	}
}
