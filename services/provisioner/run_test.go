package provisioner

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/services/provisioner/bootstatus"
	"github.com/gpudesk/runtime/services/provisioner/script"
)

// bootedRoot is a root after a boot (so the user and the secrets store
// exist), with the environment supervisord got.
func bootedRoot(t *testing.T, extra ...string) (string, []string) {
	t.Helper()
	needRoot(t)
	root := newRoot(t)
	r := runBoot(t, root, append(append(baseEnv(), "HF_TOKEN=hf-for-the-script", "WEB_PASSWORD=web-not-for-the-script"), extra...), nil, "")
	if r.err != nil {
		t.Fatalf("boot: %v\n%s", r.err, r.logged)
	}
	return root, r.plan.Environ
}

func provision(t *testing.T, root string, environ []string) (error, bootstatus.Provisioning, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := RunProvisioning(ctx, RunOptions{Root: root, Environ: environ, Out: &out,
		Fetch: script.FetchOptions{Attempts: 2, Backoff: 10 * time.Millisecond}})
	st, serr := bootstatus.Read(filepath.Join(root, bootstatus.File))
	must(t, serr)
	if st.Provisioning == nil {
		t.Fatal("no provisioning in the status")
	}
	if st.Phase != bootstatus.PhaseSupervisord {
		t.Errorf("the boot's part of the status was lost: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(root, ContainerConfig)); err == nil {
		t.Error("/run/container_config still there after provisioning")
	}
	return err, *st.Provisioning, read(t, filepath.Join(root, ProvisioningLog))
}

func TestRun_MountedScriptAsTheUserThenLocked(t *testing.T) {
	root, environ := bootedRoot(t)
	write(t, filepath.Join(root, MountedScript), "\xef\xbb\xbf#!/bin/false\r\necho \"uid=$(id -u) pwd=$PWD\"\r\necho \"hf=$HF_TOKEN web=$WEB_PASSWORD home=$HOME\"\r\nprintf 'progress 10%%\\rprogress 100%%\\n'\r\n")
	err, st, log := provision(t, root, environ)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	ws := filepath.Join(root, "workspace")
	if st.State != "done" || st.ExitCode == nil || *st.ExitCode != 0 {
		t.Errorf("status %+v", st)
	}
	for _, want := range []string{"uid=1000 pwd=" + ws, "hf=hf-for-the-script web= home=/home/user", " progress 100%\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "progress 10%") || strings.Contains(log, "web-not-for-the-script") {
		t.Errorf("log:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(ws, script.LockFile)); err != nil {
		t.Error("no lock after a successful provisioning")
	}
	write(t, filepath.Join(root, ContainerConfig), "")
	err, st, log = provision(t, root, environ)
	if err != nil || st.State != "skipped" || !strings.Contains(log, "skipped: /workspace/.update_lock exists") {
		t.Errorf("second run: %v %+v\n%s", err, st, log)
	}
}

func TestRun_FailingScriptIsReportedAndNotLocked(t *testing.T) {
	root, environ := bootedRoot(t)
	write(t, filepath.Join(root, MountedScript), "echo step one\necho about to fail >&2\nexit 3\n")
	err, st, log := provision(t, root, environ)
	if err == nil || st.State != "failed" || st.ExitCode == nil || *st.ExitCode != 3 || !strings.Contains(st.Error, "exit status 3") {
		t.Fatalf("%v %+v\n%s", err, st, log)
	}
	if len(st.LastLines) != 2 || st.LastLines[1] != "about to fail" {
		t.Errorf("last lines %q", st.LastLines)
	}
	if _, err := os.Stat(filepath.Join(root, "workspace", script.LockFile)); err == nil {
		t.Error("lock written after a failure")
	}
}

func TestRun_HangingScriptIsStoppedByTheTimeout(t *testing.T) {
	root, environ := bootedRoot(t)
	// The script leaves a child holding its output open; neither may hold the run.
	write(t, filepath.Join(root, MountedScript), "#!/bin/sh\necho started\nsleep 1000 &\nsleep 1000\n")
	err, st, log := provision(t, root, append(environ, "PROVISIONING_TIMEOUT=1"))
	if err == nil || st.State != "failed" || !strings.Contains(st.Error, "PROVISIONING_TIMEOUT") || *st.ExitCode != 143 {
		t.Fatalf("%v %+v\n%s", err, st, log)
	}
}

func TestRun_FetchedScriptAndRefusedURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.sh":
			w.Write([]byte("#!/bin/bash\r\necho fetched-and-run\r\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	root, environ := bootedRoot(t)
	err, st, log := provision(t, root, append(environ, "PROVISIONING_SCRIPT="+srv.URL+"/missing.sh"))
	if err == nil || st.State != "failed" || !strings.Contains(st.Error, "HTTP 404") || st.ExitCode != nil {
		t.Errorf("404: %v %+v\n%s", err, st, log)
	}
	err, st, log = provision(t, root, append(environ, "PROVISIONING_SCRIPT="+srv.URL+"/ok.sh"))
	if err != nil || st.State != "done" || !strings.Contains(log, " fetched-and-run\n") || st.Source != srv.URL+"/ok.sh" {
		t.Errorf("ok: %v %+v\n%s", err, st, log)
	}
}

func TestRun_NothingToRun(t *testing.T) {
	root, environ := bootedRoot(t)
	err, st, log := provision(t, root, environ)
	if err != nil || st.State != "none" || !strings.Contains(log, "no provisioning script") {
		t.Errorf("%v %+v\n%s", err, st, log)
	}
}
