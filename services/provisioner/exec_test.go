package provisioner

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
)

// TestBoot_ExecsSupervisordWithoutSecrets runs the built provisioner boot
// on a temporary root with the real supervisord: boot must become
// supervisord (same pid), whose environment and whose children's hold no
// secret, while a program that asks for one by name gets it.
func TestBoot_ExecsSupervisordWithoutSecrets(t *testing.T) {
	needRoot(t)
	prov, supd := binaries(t)
	root := newRoot(t)
	conf := filepath.Join(root, "etc/supervisor/supervisord/conf.d")
	write(t, filepath.Join(conf, "envdump.conf"), fmt.Sprintf(`[program:envdump]
command=/bin/sh -c "env > %[1]s/envdump.tmp && mv %[1]s/envdump.tmp %[1]s/envdump; exec sleep 1000"
autostart=%%(ENV_AUTOSTART_ENVDUMP)s
startsecs=0

[program:tunnel]
command=%[2]s exec-with-secret --root %[1]s TUNNEL_TOKEN=CF_TUNNEL_TOKEN -- /bin/sh -c "echo token=$TUNNEL_TOKEN > %[1]s/tunnel.tmp && env >> %[1]s/tunnel.tmp && mv %[1]s/tunnel.tmp %[1]s/tunnel.out; exec sleep 1000"
startsecs=0

[program:asuser]
command=%[2]s exec-with-secret --root %[1]s --user user HF_TOKEN -- /bin/sh -c "echo uid=$(id -u) groups=$(id -G) hf=$HF_TOKEN home=$HOME > %[1]s/workspace/user.tmp && mv %[1]s/workspace/user.tmp %[1]s/workspace/user.out; exec sleep 1000"
startsecs=0

[program:rclone]
command=%[2]s exec-with-secret --root %[1]s --prefix RCLONE_CONFIG_ -- /bin/sh -c "env > %[1]s/rclone.tmp && mv %[1]s/rclone.tmp %[1]s/rclone.out; exec sleep 1000"
startsecs=0

[program:logtail]
command=%[2]s exec-with-secret --root %[1]s --all -- %[3]s --out %[1]s/var/log/logtail.log %[1]s/var/log/provisioning.log
startsecs=0

[program:provisioner]
command=%[2]s run --root %[1]s
autostart=%%(ENV_AUTOSTART_PROVISIONER)s
autorestart=false
startsecs=0
`, root, prov, filepath.Join(filepath.Dir(prov), "logtail")))
	write(t, filepath.Join(root, MountedScript), "#!/bin/sh\necho \"script hf=$HF_TOKEN web=$WEB_PASSWORD uid=$(id -u)\"\n")
	secrets := map[string]string{
		"WEB_PASSWORD": "web-pass-xyzzy", "WEB_TOKEN": "web-token-plugh", "CF_TUNNEL_TOKEN": "cf-token-frotz",
		"HF_TOKEN": "hf-token-gnusto", "USER_PASSWORD": "user-pass-rezrov", "OPEN_BUTTON_TOKEN": "open-token-blorb",
		"AWS_SECRET_ACCESS_KEY": "aws-secret-yomin", "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY": "rclone-secret-ozmoo",
	}
	environ := baseEnv()
	for k, v := range secrets {
		environ = append(environ, k+"="+v)
	}
	cmd := exec.Command(prov, "boot", "--root", root, "--supervisord", supd, "GREETING=hi")
	cmd.Env = environ
	logPath := filepath.Join(t.TempDir(), "boot.out")
	out, err := os.Create(logPath)
	must(t, err)
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Error("supervisord did not stop on SIGTERM")
		}
	})
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		if t.Failed() {
			sl, _ := os.ReadFile(filepath.Join(root, "var/log/supervisor/supervisor.log"))
			t.Logf("boot output:\n%s\nsupervisor.log:\n%s", read(t, logPath), sl)
			m, _ := filepath.Glob(filepath.Join(root, "var/log/*.log"))
			m2, _ := filepath.Glob(filepath.Join(root, "var/log/supervisor/*"))
			m = append(m, m2...)
			for _, f := range m {
				b, _ := os.ReadFile(f)
				t.Logf("%s:\n%s", f, b)
			}
		}
	})
	waitFor(t, "the programs' outputs", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("boot exited: %v\n%s", err, read(t, logPath))
		default:
		}
		for _, f := range []string{"envdump", "tunnel.out", "rclone.out", "workspace/user.out", "workspace/.update_lock"} {
			if _, err := os.Stat(filepath.Join(root, f)); err != nil {
				return false
			}
		}
		return true
	})
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != supd {
		t.Errorf("pid %d runs %q, not supervisord: boot did not exec it", pid, exe)
	}
	// UMASK (default 002, ai-dock's) is the boot's, so supervisord's.
	if st := read(t, fmt.Sprintf("/proc/%d/status", pid)); !strings.Contains(st, "\nUmask:\t0002\n") {
		t.Errorf("supervisord's umask is not 0002:\n%s", st)
	}
	daemonEnv, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	must(t, err)
	if !strings.Contains(string(daemonEnv), "GREETING=hi\x00") || !strings.Contains(string(daemonEnv), "AUTOSTART_ENVDUMP=true\x00") {
		t.Errorf("supervisord's environment lacks the boot's variables")
	}
	tunnel := read(t, filepath.Join(root, "tunnel.out"))
	if !strings.Contains(tunnel, "token=cf-token-frotz\n") {
		t.Errorf("the program that asked for CF_TUNNEL_TOKEN did not get it:\n%s", tunnel)
	}
	// --prefix gives a family of secrets and no other.
	rclone := read(t, filepath.Join(root, "rclone.out"))
	if !strings.Contains(rclone, "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY=rclone-secret-ozmoo\n") {
		t.Errorf("exec-with-secret --prefix RCLONE_CONFIG_ did not give the rclone secret:\n%s", rclone)
	}
	for name, v := range secrets {
		if !strings.HasPrefix(name, "RCLONE_CONFIG_") && strings.Contains(rclone, v) {
			t.Errorf("exec-with-secret --prefix RCLONE_CONFIG_ also gave %s", name)
		}
	}
	user := read(t, filepath.Join(root, "workspace/user.out"))
	if !strings.HasPrefix(user, "uid=1000 ") || !strings.Contains(user, "hf=hf-token-gnusto") || !strings.Contains(user, "home=/home/user") {
		t.Errorf("exec-with-secret --user: %s", user)
	}
	// provisioner run, supervised: the script got HF_TOKEN (from the store), not the web password.
	if plog := read(t, filepath.Join(root, ProvisioningLog)); !strings.Contains(plog, "script hf=hf-token-gnusto web= uid=1000\n") {
		t.Errorf("provisioning log:\n%s", plog)
	}
	// logtail, given every secret by exec-with-secret --all, redacts the token the script printed.
	waitFor(t, "logtail's copy of the provisioning log", func() bool {
		b, _ := os.ReadFile(filepath.Join(root, "var/log/logtail.log"))
		return strings.Contains(string(b), "script hf=*** web= uid=1000")
	})
	waitFor(t, "the provisioning status", func() bool {
		st, err := bootstatus.Read(filepath.Join(root, bootstatus.File))
		return err == nil && st.Provisioning != nil && st.Provisioning.State == "done"
	})
	if _, err := os.Stat(filepath.Join(root, ContainerConfig)); err == nil {
		t.Error("/run/container_config left after provisioning")
	}
	ps, err := exec.Command("ps", "-eww", "-o", "pid,args").CombinedOutput()
	must(t, err)
	for name, v := range secrets {
		if strings.Contains(string(daemonEnv), v) {
			t.Errorf("supervisord's /proc/%d/environ holds %s", pid, name)
		}
		if strings.Contains(read(t, filepath.Join(root, "envdump")), v) {
			t.Errorf("a program that did not ask for it has %s in its environment", name)
		}
		if strings.Contains(string(ps), v) {
			t.Errorf("ps shows %s", name)
		}
		if name != "CF_TUNNEL_TOKEN" && strings.Contains(tunnel, v) {
			t.Errorf("the tunnel program got %s, which it did not ask for", name)
		}
	}
	// Every log, including supervisord's own and the boot's console.
	filepath.Walk(filepath.Join(root, "var/log"), func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			for name, v := range secrets {
				if name == "HF_TOKEN" && p == filepath.Join(root, ProvisioningLog) {
					continue // the test's script printed the token it was given
				}
				if strings.Contains(string(b), v) {
					t.Errorf("%s holds %s", p, name)
				}
			}
		}
		return nil
	})
	boot := read(t, logPath)
	for name, v := range secrets {
		if strings.Contains(boot, v) {
			t.Errorf("the boot's output holds %s", name)
		}
	}
	st, err := bootstatus.Read(filepath.Join(root, bootstatus.File))
	if err != nil || st.Phase != bootstatus.PhaseSupervisord {
		t.Errorf("status %+v %v", st, err)
	}
}

// TestConfFile loads conf.d/provisioner.conf in our supervisord --check
// and in Python supervisor 4.2.5, with the toggle the boot sets; without
// it Python refuses the file, which is why the boot sets every toggle.
func TestConfFile(t *testing.T) {
	_, supd := binaries(t)
	conf, err := filepath.Abs("../../conf.d/provisioner.conf")
	must(t, err)
	dir := t.TempDir()
	main := filepath.Join(dir, "supervisord.conf")
	write(t, main, "[supervisord]\nlogfile=/dev/null\npidfile="+filepath.Join(dir, "sd.pid")+"\n\n[include]\nfiles = "+conf+"\n")
	for _, v := range []string{"true", "false"} {
		c := exec.Command(supd, "-c", main, "--check")
		c.Env = append(baseEnv(), "AUTOSTART_PROVISIONER="+v)
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("supervisord --check with AUTOSTART_PROVISIONER=%s: %v\n%s", v, err, out)
		}
	}
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import supervisor.options").CombinedOutput(); err != nil {
		t.Fatalf("Debian's Python supervisor 4.2.5 is needed (apt-get install supervisor): %v %s", err, out)
	}
	check := `import sys
from supervisor.options import ServerOptions
o = ServerOptions()
o.realize(["-c", sys.argv[1]])
for g in o.process_group_configs:
    p = g.process_configs[0]
    print(p.name, p.command, p.autostart, p.autorestart, p.priority, p.startsecs)
`
	sync := "workspace-sync /usr/local/bin/provisioner sync True False 10 0\n"
	for v, want := range map[string]string{"true": sync + "provisioner /usr/local/bin/provisioner run True False 900 0\n", "false": sync + "provisioner /usr/local/bin/provisioner run False False 900 0\n"} {
		c := exec.Command(py, "-c", check, main)
		c.Env = append(baseEnv(), "AUTOSTART_PROVISIONER="+v)
		out, err := c.CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("Python with AUTOSTART_PROVISIONER=%s: %v\n%s", v, err, out)
		}
	}
	c := exec.Command(py, "-c", check, main)
	c.Env = baseEnv()
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), "ENV_AUTOSTART_PROVISIONER") {
		t.Errorf("Python without the variable: %v\n%s", err, out)
	}
}
