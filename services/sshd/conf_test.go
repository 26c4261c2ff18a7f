package sshd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfFile loads conf.d/sshd.conf in our supervisord (--check and
// --print-config: the ready check is on SSH_PORT_LOCAL) and in Python
// supervisor 4.2.5, with the variables provisioner boot always sets;
// without SSH_PORT_LOCAL ours refuses the file, which is why the boot
// (and scripts/run --check) always set it.
func TestConfFile(t *testing.T) {
	dir := t.TempDir()
	supd := filepath.Join(dir, "supervisord")
	if out, err := exec.Command("go", "build", "-o", supd, "../../supervisor/cmd/supervisord").CombinedOutput(); err != nil {
		t.Fatalf("building supervisord: %v\n%s", err, out)
	}
	conf, err := filepath.Abs("../../conf.d/sshd.conf")
	if err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(main, []byte("[supervisord]\nlogfile=/dev/null\npidfile="+filepath.Join(dir, "sd.pid")+"\n\n[include]\nfiles = "+conf+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=/usr/bin:/bin", "AUTOSTART_SSHD=true"}
	run := func(env []string, args ...string) (string, error) {
		c := exec.Command(args[0], args[1:]...)
		c.Env = env
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := run(append(base, "SSH_PORT_LOCAL=2200"), supd, "-c", main, "--check"); err != nil {
		t.Errorf("supervisord --check: %v\n%s", err, out)
	}
	out, err := run(append(base, "SSH_PORT_LOCAL=2200"), supd, "-c", main, "--print-config")
	if err != nil || !strings.Contains(out, `"ready": "tcp:127.0.0.1:2200"`) {
		t.Errorf("--print-config: the ready check is not on SSH_PORT_LOCAL: %v\n%s", err, out)
	}
	if out, err := run(base, supd, "-c", main, "--check"); err == nil || !strings.Contains(out, "ENV_SSH_PORT_LOCAL") {
		t.Errorf("supervisord --check without SSH_PORT_LOCAL: %v\n%s", err, out)
	}

	if out, err := exec.Command("/usr/bin/python3", "-c", "import supervisor.options").CombinedOutput(); err != nil {
		t.Fatalf("Debian's Python supervisor 4.2.5 is needed (apt-get install supervisor): %v %s", err, out)
	}
	check := `import sys
from supervisor.options import ServerOptions
o = ServerOptions()
o.realize(["-c", sys.argv[1]])
p = o.process_group_configs[0].process_configs[0]
print(p.name, p.autostart, p.priority, p.startsecs)
`
	out, err = run(append(base, "SSH_PORT_LOCAL=2200"), "/usr/bin/python3", "-c", check, main)
	if err != nil || out != "sshd True 100 5\n" {
		t.Errorf("Python supervisor: %v\n%s", err, out)
	}
}
