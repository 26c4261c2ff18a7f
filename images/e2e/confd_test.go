package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Every shipped conf.d file loads in our supervisord --check and in
// Python supervisor 4.2.5, with the AUTOSTART_* toggles provisioner boot
// sets, and both see the same programs.
func TestConfD_loadsInOursAndPython(t *testing.T) {
	dir := t.TempDir()
	supd := filepath.Join(dir, "supervisord")
	build := exec.Command("go", "build", "-o", supd, "./supervisor/cmd/supervisord")
	build.Dir = RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building supervisord: %v\n%s", err, out)
	}
	confd, _ := filepath.Abs(filepath.Join(RepoRoot(), "conf.d"))
	files, _ := filepath.Glob(filepath.Join(confd, "*.conf"))
	if len(files) == 0 {
		t.Fatal("no conf.d/*.conf")
	}
	var want []string
	env := append(os.Environ(), "USER_NAME=user", "WORKSPACE=/workspace")
	toggles := regexp.MustCompile(`%\(ENV_(AUTOSTART_[A-Za-z0-9_]+)\)s`)
	programs := regexp.MustCompile(`(?m)^\[program:([^\]]+)\]`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range toggles.FindAllStringSubmatch(string(b), -1) {
			env = append(env, m[1]+"=true")
		}
		for _, m := range programs.FindAllStringSubmatch(string(b), -1) {
			want = append(want, m[1])
		}
	}
	sort.Strings(want)
	main := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(main, []byte("[supervisord]\nlogfile=/dev/null\npidfile="+filepath.Join(dir, "sd.pid")+
		"\n\n[unix_http_server]\nfile="+filepath.Join(dir, "sock")+"\n\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n[include]\nfiles = "+confd+"/*.conf\n"), 0o644)

	ours := exec.Command(supd, "-c", main, "--check")
	ours.Env = env
	if out, err := ours.CombinedOutput(); err != nil {
		t.Errorf("supervisord --check of conf.d: %v\n%s", err, out)
	}
	py := exec.Command("/usr/bin/python3", "-c", `import sys
from supervisor.options import ServerOptions
o = ServerOptions()
o.realize(["-c", sys.argv[1]])
print("\n".join(sorted(p.name for g in o.process_group_configs for p in g.process_configs)))
`, main)
	py.Env = env
	out, err := py.CombinedOutput()
	if err != nil {
		t.Fatalf("Python supervisor 4.2.5 loading conf.d (apt-get install supervisor): %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Python's programs %v, the files' %v", got, want)
	}
}
