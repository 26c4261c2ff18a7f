package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBoot checks the booted CPU image as a user would, in order: the
// steps share one container and end with a stop and a start.
func TestBoot(t *testing.T) {
	c := Booted(t)
	figures := []string{
		fmt.Sprintf("scripts/build-image test: %.1f s", c.BuildTook.Seconds()),
		fmt.Sprintf("docker run -> login page through Caddy: %.1f s", c.LoginPageIn.Seconds()),
	}
	defer func() {
		os.WriteFile(filepath.Join(c.Artefacts, "figures.txt"), []byte(strings.Join(figures, "\n")+"\n"), 0o644)
		for _, f := range figures {
			t.Log(f)
		}
		t.Logf("artefacts in %s", c.Artefacts)
	}()

	t.Run("pid 1 is our supervisord", func(t *testing.T) {
		exe, err := c.Exec("readlink", "/proc/1/exe")
		if err != nil || exe != "/usr/local/bin/supervisord" {
			t.Fatalf("/proc/1/exe = %q, %v", exe, err)
		}
	})

	t.Run("image config: init.sh, SIGTERM, supervisorctl ready", func(t *testing.T) {
		cfg, err := Docker("image", "inspect", "-f", "{{json .Config.Cmd}} {{.Config.StopSignal}} {{json .Config.Healthcheck.Test}}", c.Image)
		if err != nil {
			t.Fatal(err)
		}
		if want := `["init.sh"] SIGTERM ["CMD","supervisorctl","ready"]`; cfg != want {
			t.Errorf("image config %s, want %s", cfg, want)
		}
		if out, err := c.Exec("test", "-d", "/var/log/supervisor", "-a", "-d", "/opt/storage", "-a", "!", "-e", "/usr/local/bin/cloudflared"); err != nil {
			t.Errorf("/var/log/supervisor and /opt/storage, no cloudflared: %v %s", err, out)
		}
	})

	t.Run("the portal wants a login", func(t *testing.T) {
		cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", c.URL("/"), nil)
		req.Header.Set("Accept", "text/html")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 3 || !strings.Contains(resp.Header.Get("Location"), "/login") {
			t.Errorf("GET / without a login: %d, Location %q; want a redirect to the login", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, err = http.Get(c.URL("/api/processes"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("GET /api/processes without a login: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("a browser logs in and sees the services", func(t *testing.T) {
		ctx := Browser(t)
		shot := Screenshot(c, "services.jpg")
		err := chromedp.Do(ctx,
			chromedp.Navigate(c.URL("/")),
			chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=user]`), c.WebUser),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), c.WebPassword),
			chromedp.Submit(chromedp.CSS(`input[name=password]`)),
			chromedp.WaitVisible(chromedp.CSS(`.card`)),
			shot,
		)
		if err != nil {
			t.Fatalf("log in through Caddy: %v", err)
		}
	})

	t.Run("ssh with the key", func(t *testing.T) {
		out, err := c.SSH(t, "echo logged in as $(id -un)")
		if err != nil || !strings.Contains(out, "logged in as root") {
			t.Fatalf("ssh: %q, %v", out, err)
		}
	})

	t.Run("provisioning ran once", func(t *testing.T) {
		waitFor(t, 2*time.Minute, "provisioned.txt in the workspace", func() bool {
			_, err := os.Stat(filepath.Join(c.Workspace, "provisioned.txt"))
			return err == nil
		})
		if n := c.ProvisionHits(); n != 1 {
			t.Errorf("the provisioning script was fetched %d times, want 1", n)
		}
	})

	t.Run("a file dropped into conf.d starts a program", func(t *testing.T) {
		conf := "[program:e2e-dropped]\ncommand=/bin/sleep 86400\nautostart=true\nstartsecs=1\n"
		if out, err := Docker("exec", c.Name, "sh", "-c", "printf '%s' '"+conf+"' >/etc/supervisor/supervisord/conf.d/e2e-dropped.conf && supervisorctl update"); err != nil {
			t.Fatalf("dropping the file: %v: %s", err, out)
		}
		waitFor(t, time.Minute, "e2e-dropped RUNNING", func() bool {
			out, _ := c.Exec("supervisorctl", "status", "e2e-dropped")
			return strings.Contains(out, "RUNNING")
		})
	})

	t.Run("files of /opt/storage are linked into the workspace's storage", func(t *testing.T) {
		// As an application image would ship them; storagemonitor links
		// them at its start.
		if out, err := c.Exec("sh", "-c", "mkdir -p /opt/storage/models && echo weights >/opt/storage/models/e2e.bin && supervisorctl restart storagemonitor"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		link := filepath.Join(c.Workspace, "storage", "models", "e2e.bin")
		waitFor(t, time.Minute, link, func() bool {
			_, err := os.Lstat(link)
			return err == nil
		})
		if out, err := c.Exec("cat", "/workspace/storage/models/e2e.bin"); err != nil || out != "weights" {
			t.Errorf("reading the linked file in the container: %q, %v", out, err)
		}
	})

	t.Run("supervisorctl restart caddy", func(t *testing.T) {
		out, err := c.Exec("supervisorctl", "restart", "caddy")
		if err != nil || !strings.Contains(out, "caddy: started") {
			t.Fatalf("supervisorctl restart caddy: %q, %v", out, err)
		}
		if err := c.WaitLoginPage(time.Minute); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("docker reports the container healthy", func(t *testing.T) {
		// HEALTHCHECK runs supervisorctl ready every 30 s.
		waitFor(t, 3*time.Minute, "health status healthy", func() bool {
			st, _ := Docker("inspect", "-f", "{{.State.Health.Status}}", c.Name)
			return st == "healthy"
		})
	})

	t.Run("idle memory and image size", func(t *testing.T) {
		waitFor(t, 3*time.Minute, "supervisorctl ready", func() bool {
			_, err := c.Exec("supervisorctl", "ready")
			return err == nil
		})
		mem, err := Docker("stats", "--no-stream", "--format", "{{.MemUsage}}", c.Name)
		if err != nil {
			t.Fatal(err)
		}
		size, _ := Docker("image", "inspect", "-f", "{{.Size}}", c.Image)
		figures = append(figures, "idle container memory (docker stats --no-stream): "+mem, "image "+c.Image+" size (bytes): "+size)
	})

	t.Run("docker logs show the services, secrets redacted", func(t *testing.T) {
		logs, err := Docker("logs", c.Name)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(c.Artefacts, "docker-logs-1.txt"), []byte(logs), 0o644)
		if strings.Contains(logs, c.WebPassword) {
			t.Errorf("docker logs hold WEB_PASSWORD")
		}
		for _, want := range []string{"caddy", "portal", "provisioning ran as"} {
			if !strings.Contains(logs, want) {
				t.Errorf("docker logs lack %q", want)
			}
		}
		if !strings.Contains(logs, "built without cloudflared") {
			t.Errorf("docker logs do not say the image has no cloudflared")
		}
	})

	hostKey, err := c.Exec("cat", "/etc/ssh/ssh_host_ed25519_key.pub")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("docker stop exits 0, programs stopped in order", func(t *testing.T) {
		start := time.Now()
		if _, err := Docker("stop", "-t", "60", c.Name); err != nil {
			t.Fatal(err)
		}
		figures = append(figures, fmt.Sprintf("docker stop: %.1f s", time.Since(start).Seconds()))
		if code, _ := Docker("inspect", "-f", "{{.State.ExitCode}}", c.Name); code != "0" {
			t.Errorf("exit code %s, want 0", code)
		}
		log := filepath.Join(c.Artefacts, "supervisor.log")
		if _, err := Docker("cp", c.Name+":/var/log/supervisor/supervisor.log", log); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(log)
		text := string(b)
		stopped := func(name string) int {
			i := strings.LastIndex(text, "stopped: "+name+" ")
			if i < 0 {
				t.Errorf("supervisor.log does not say %s was stopped", name)
			}
			return i
		}
		// By priority: caddy (500) before the portal and sshd (100),
		// before storagemonitor (50).
		caddy, portal, sshd, storage := stopped("caddy"), stopped("portal"), stopped("sshd"), stopped("storagemonitor")
		if caddy > portal || caddy > sshd || portal > storage || sshd > storage {
			t.Errorf("stop order caddy %d, portal %d, sshd %d, storagemonitor %d (offsets in supervisor.log): want caddy, then portal and sshd, then storagemonitor", caddy, portal, sshd, storage)
		}
	})

	t.Run("docker start: no re-provisioning, same host key", func(t *testing.T) {
		if _, err := Docker("start", c.Name); err != nil {
			t.Fatal(err)
		}
		if err := c.ReadPorts(); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitLoginPage(3 * time.Minute); err != nil {
			t.Fatal(err)
		}
		key, err := c.Exec("cat", "/etc/ssh/ssh_host_ed25519_key.pub")
		if err != nil || key != hostKey {
			t.Errorf("host key after the restart %q (%v), before %q", key, err, hostKey)
		}
		if out, err := c.SSH(t, "true"); err != nil {
			t.Errorf("ssh with the known host key after the restart: %v: %s", err, out)
		}
		waitFor(t, 2*time.Minute, "the provisioner done", func() bool {
			out, _ := c.Exec("supervisorctl", "status", "provisioner")
			return strings.Contains(out, "EXITED")
		})
		if n := c.ProvisionHits(); n != 1 {
			t.Errorf("the provisioning script was fetched %d times after the restart, want 1", n)
		}
	})
}

// SSH runs a command over ssh as root, with strict host key checking
// against the key first seen (kept in the artefacts folder).
func (c *Container) SSH(t *testing.T, command string) (string, error) {
	t.Helper()
	out, err := exec.Command("ssh", "-p", c.SSHPort, "-i", c.SSHKeyFile,
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
		"-o", "UserKnownHostsFile="+filepath.Join(c.Artefacts, "known_hosts"),
		"-o", "ConnectTimeout=20", "root@127.0.0.1", command).CombinedOutput()
	return string(out), err
}

// Browser is a headless Chromium context (Debian's chromium) for t.
func Browser(t *testing.T) context.Context {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (scripts/test installs Debian's chromium): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	return ctx
}

// Screenshot saves the page as NAME in the artefacts folder.
func Screenshot(c *Container, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(80)(ctx, tg)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(c.Artefacts, name), buf, 0o644)
	})
}

// waitFor polls cond until it holds or limit passes (a generous deadline:
// CI is a loaded 2-core machine).
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
