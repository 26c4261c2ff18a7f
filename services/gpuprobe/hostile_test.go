package gpuprobe

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitTimeout is how long a test waits for gpu-probe to finish: generous,
// for a loaded 2-core machine under -race; a passing run takes well under
// a second.
const waitTimeout = 60 * time.Second

// TestCommand_HostileRoot runs the real gpu-probe binary on copies of a
// fixture where one file it reads has been replaced by a FIFO (an open
// blocked for ever), /dev/zero (a read never ends) or a 1 TiB sparse file.
// Each run must finish, exit 0 with its report, and name the file in a
// warning.
func TestCommand_HostileRoot(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gpu-probe")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/gpu-probe").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gpu-probe: %v\n%s", err, out)
	}
	const gpu = sysPCIDevices + "/0000:01:00.0"
	files := []struct {
		name, file string
		report     string // what the report still shows
	}{
		// read by ghw itself: ghw is then not used, the device is read
		// from its vendor, device and class files
		{"modalias", gpu + "/modalias", "NVIDIA GeForce RTX 4090"},
		{"numa_node", gpu + "/numa_node", "NVIDIA GeForce RTX 4090"},
		{"nvidia information", "proc/driver/nvidia/gpus/0000:01:00.0/information", "nvidia 560.35.03"},
		{"nvidia version", "proc/driver/nvidia/version", "NVIDIA GeForce RTX 4090"},
		{"pci.ids", "usr/share/misc/pci.ids", "unknown device 8086:4680"},
	}
	kinds := []struct {
		name  string
		plant func(t *testing.T, p string)
		why   string
	}{
		{"fifo", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatalf("mkfifo %s: %v", p, err)
			}
		}, "is a named pipe (FIFO), not a regular file; not read"},
		{"dev-zero", func(t *testing.T, p string) {
			// the snapshot's file is the character device itself
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Fatal(err)
			}
		}, "is a character device, not a regular file; not read"},
		{"huge-sparse", func(t *testing.T, p string) {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(1 << 40); err != nil {
				t.Fatalf("a 1 TiB sparse file: %v", err)
			}
		}, "is larger than "},
	}
	for _, f := range files {
		for _, k := range kinds {
			t.Run(f.name+"/"+k.name, func(t *testing.T) {
				root := filepath.Join(t.TempDir(), "root")
				copyTree(t, fixtureRoot("mixed-nvidia-intel"), root)
				p := filepath.Join(root, f.file)
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				k.plant(t, p)
				code, stdout, stderr := runBounded(t, bin, "--root", root)
				if code != 0 {
					t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
				}
				if !strings.Contains(stdout, f.report) {
					t.Errorf("report lacks %q:\n%s", f.report, stdout)
				}
				warning := "gpu-probe: warning: /" + f.file + ": " + k.why
				if !strings.Contains(stderr, warning) {
					t.Errorf("stderr lacks %q:\n%s", warning, stderr)
				}
			})
		}
	}

	t.Run("pci devices folder is a fifo", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "root")
		copyTree(t, fixtureRoot("mixed-nvidia-intel"), root)
		p := filepath.Join(root, sysPCIDevices)
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runBounded(t, bin, "--root", root)
		if code != 0 || !strings.Contains(stderr, "gpu-probe: warning: listing /"+sysPCIDevices+": not a directory\n") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
}

// runBounded runs gpu-probe with 2 GiB of address space (so that a
// regression fails this test with "out of memory" rather than taking the
// machine's memory), waiting for it to end. If it does not end in
// waitTimeout, it is sent SIGTERM, then killed, and the test fails saying
// which stopped it.
func runBounded(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{"-c", `ulimit -v 2097152 && exec "$0" "$@"`, bin}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(waitTimeout):
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			t.Fatalf("gpu-probe did not finish in %s (it stopped on SIGTERM)\nstderr:\n%s", waitTimeout, errb.String())
		case <-time.After(waitTimeout):
			cmd.Process.Kill()
			<-done
			t.Fatalf("gpu-probe did not finish in %s and ignored SIGTERM\nstderr:\n%s", waitTimeout, errb.String())
		}
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// copyTree copies the fixture src to dst: folders, files and symlinks.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			dest, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(dest, to)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, 0o644)
		}
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// TestMain_StopsOnSignal: a probe stuck in a read the kernel will not
// interrupt does not keep gpu-probe from exiting on SIGTERM (the context
// main gets from signal.NotifyContext).
func TestMain_StopsOnSignal(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	probe = func(context.Context, Options) (*Report, error) {
		<-stuck // ignores its context, as a blocked read(2) would
		return nil, errors.New("unblocked")
	}
	defer func() { probe = Probe }()

	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"--root", t.TempDir()}, envMap(nil), &bytes.Buffer{}, &stderr) }()
	cancel()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(stderr.String(), "gpu-probe: stopped before the probe of ") {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
	case <-time.After(waitTimeout):
		t.Fatal("Main did not return when its context was cancelled")
	}
}
