package rclonemount

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/internal/testkit"
)

const deadline = 90 * time.Second

// syncBuf and waitUntil: the services' shared test kit, with this
// package's deadline.
type syncBuf = testkit.Buffer

func waitUntil(t *testing.T, what string, log fmt.Stringer, cond func() bool) {
	t.Helper()
	testkit.WaitUntil(t, what, deadline, log, cond)
}

func needFuse(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("rclone mount needs root here (scripts/test runs as root)")
	}
	for _, tool := range []string{"rclone", "fusermount3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (Debian packages rclone and fuse3; scripts/test installs them): %v", tool, err)
		}
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("/dev/fuse is needed: %v", err)
	}
}

func newMounts(t *testing.T, ws string, log *syncBuf, env ...string) *Mounts {
	return &Mounts{Rclone: "rclone", Fusermount: "fusermount3", Workspace: ws, Host: Host{FuseDevice: "/dev/fuse", Proc: "/proc"},
		Env: append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
			// Not the machine's own rclone.conf.
			"RCLONE_CONFIG=" + filepath.Join(t.TempDir(), "rclone.conf")}, env...),
		Log: log, CacheMode: "writes", MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, StopWait: 15 * time.Second}
}

// TestMounts_aliasRemote: a remote of RCLONE_CONFIG_<NAME>_* variables
// is mounted for real; files cross both ways; a remote of an unknown
// type and a remote without a type are named in the log and the others
// still mount; a killed rclone is unmounted and mounted again; stop
// leaves no mount behind.
func TestMounts_aliasRemote(t *testing.T) {
	needFuse(t)
	src, ws := t.TempDir(), t.TempDir()
	log := &syncBuf{}
	m := newMounts(t, ws, log, "RCLONE_CONFIG_DATA_TYPE=alias", "RCLONE_CONFIG_DATA_REMOTE="+src,
		"RCLONE_CONFIG_BROKEN_TYPE=nosuchbackend", "RCLONE_CONFIG_NOTYPE_REMOTE="+src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stopped := false
	mnt := filepath.Join(ws, "remote/data")
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
		if Mounted("/proc", mnt) {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	}()
	waitUntil(t, "remote data mounted", log, func() bool { return Mounted("/proc", mnt) })

	if err := os.WriteFile(filepath.Join(src, "model.safetensors"), []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a file of the remote seen in the mount", log, func() bool {
		b, err := os.ReadFile(filepath.Join(mnt, "model.safetensors"))
		return err == nil && string(b) == "weights"
	})
	if err := os.WriteFile(filepath.Join(mnt, "output.png"), []byte("picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a file written in the mount reaching the remote", log, func() bool {
		b, err := os.ReadFile(filepath.Join(src, "output.png"))
		return err == nil && string(b) == "picture"
	})
	for _, want := range []string{
		`remote broken: type = "nosuchbackend" is not an rclone backend (RCLONE_CONFIG_BROKEN_TYPE`,
		`RCLONE_CONFIG_NOTYPE_REMOTE defines no remote: remote "notype" needs RCLONE_CONFIG_NOTYPE_TYPE`,
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if Mounted("/proc", filepath.Join(ws, "remote/broken")) {
		t.Errorf("the broken remote is mounted")
	}

	t.Run("killed rclone", func(t *testing.T) {
		out, _ := exec.Command("pgrep", "-f", "rclone mount data: "+mnt).Output()
		pids := strings.Fields(string(out))
		if len(pids) != 1 {
			t.Fatalf("rclone mount processes: %q", pids)
		}
		exec.Command("kill", "-9", pids[0]).Run()
		waitUntil(t, "mounted again after the kill", log, func() bool {
			return strings.Contains(log.String(), "remote data: rclone mount exited (signal: killed); mounting it again in 50ms")
		})
		waitUntil(t, "the remote readable again", log, func() bool {
			b, err := os.ReadFile(filepath.Join(mnt, "model.safetensors"))
			return err == nil && string(b) == "weights"
		})
	})

	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if Mounted("/proc", mnt) {
		t.Fatalf("%s is still mounted after the stop", mnt)
	}
	// No stale FUSE folder ("Transport endpoint is not connected").
	if _, err := os.ReadDir(mnt); err != nil {
		t.Fatalf("reading %s after the stop: %v", mnt, err)
	}
}

// TestMounts_noFuse: without the FUSE device, one line says what is
// missing and how to fix it, nothing is mounted and Run returns.
func TestMounts_noFuse(t *testing.T) {
	ws := t.TempDir()
	log := &syncBuf{}
	m := newMounts(t, ws, log, "RCLONE_CONFIG_DATA_TYPE=alias", "RCLONE_CONFIG_DATA_REMOTE=/tmp")
	m.Host.FuseDevice = filepath.Join(t.TempDir(), "fuse")
	m.Rclone = "/nonexistent/rclone" // must not even be run
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("rclone mounts are off: %s is missing: run the container with --device /dev/fuse", m.Host.FuseDevice)
	if !strings.Contains(log.String(), want) || !strings.Contains(log.String(), "rclone still works from the shell") {
		t.Fatalf("log:\n%s\nwant %q", log, want)
	}
	if _, err := os.Stat(filepath.Join(ws, "remote")); err == nil {
		t.Errorf("remote/ was made")
	}
}

func TestCapSysAdmin(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		capEff string
		want   bool
	}{{"000001ffffffffff", true}, {"00000000a80425fb", false}, {"0000000000200000", true}} {
		p := filepath.Join(dir, "status")
		os.WriteFile(p, []byte("Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t"+c.capEff+"\n"), 0o644)
		if got, err := capSysAdmin(p); err != nil || got != c.want {
			t.Errorf("CapEff %s: %v, %v; want %v", c.capEff, got, err, c.want)
		}
	}
}
