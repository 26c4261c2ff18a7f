package portal_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_Portal drives Debian's Chromium through the portal behind
// Caddy: log in, see the services, restart a program and see its new pid
// arrive without a reload, read a live log whose lines hold HTML as text.
// Screenshots are kept in the folder the test prints (PORTAL_SCREENSHOTS
// names one).
func TestBrowser_Portal(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/test installs Debian's chromium)")
	}
	d := startDaemon(t)
	b := startBox(t, boxOpts{supervisorURL: "unix://" + d.sock})
	be := startBackend(t)
	pub := freePort(t)
	b.register(pub, fmt.Sprintf(`{"listen_port":"%d","service_name":"Sleeper's web UI","program":"sleeper"}`, be.port))
	b.register(freePort(t), `{"listen_port":"0","service_name":"<b>broken</b>"}`)

	shots := os.Getenv("PORTAL_SCREENSHOTS")
	if shots == "" {
		shots, _ = os.MkdirTemp("", "portal-screenshots")
	}
	os.MkdirAll(shots, 0o755)
	t.Logf("screenshots in %s", shots)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 760),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer acancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, tcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer tcancel()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(80)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name), buf, 0o644)
		})
	}
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(90*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, tg)
			if err != nil {
				return fmt.Errorf("waiting for %s: %w", expr, err)
			}
			return nil
		})
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	portal := b.url(b.publicPort, "")
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("open the login page",
		chromedp.Navigate(portal+"/"),
		chromedp.WaitVisible(css(`input[name=password]`)),
		shot("login.jpg"),
	)
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != portal+"/login?next=%2F" {
		t.Errorf("login URL %q, %v", loc, err)
	}
	run("log in",
		chromedp.SendKeys(css(`input[name=user]`), testUser),
		chromedp.SendKeys(css(`input[name=password]`), testPassword),
		chromedp.Submit(css(`input[name=password]`)),
		chromedp.WaitVisible(css(`.card`)),
	)
	run("see the services",
		poll(`[...document.querySelectorAll('.card h2')].some(h => h.textContent === "Sleeper's web UI")`),
		poll(`[...document.querySelectorAll('.card.bad .error')].some(e => e.textContent.includes('listen_port'))`),
		poll(`document.querySelectorAll('.card b').length === 0`), // "<b>broken</b>" stays text
		poll(`document.getElementById('startup-summary').textContent.length > 0`),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`window.notReloaded = true`)(ctx, tg)
			return err
		}),
	)
	// A service that registers now appears without a reload.
	b.register(freePort(t), fmt.Sprintf(`{"listen_port":"%d","service_name":"Late <i>arrival</i>"}`, be.port))
	run("see a new service live",
		poll(`window.notReloaded === true && [...document.querySelectorAll('.card h2')].some(h => h.textContent === "Late <i>arrival</i>")`),
		poll(`document.querySelectorAll('.card i').length === 0`),
		shot("services.jpg"),
	)
	run("open the processes",
		chromedp.Navigate(portal+"/processes"),
		poll(`document.querySelector('tr[data-name=sleeper] .state')?.textContent === 'RUNNING'`),
	)
	oldPID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('tr[data-name=sleeper] .pid').textContent`))
	if err != nil {
		t.Fatal(err)
	}
	run("restart a program and see the new pid live",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`window.notReloaded = true`)(ctx, tg)
			return err
		}),
		chromedp.Click(css(`tr[data-name=sleeper] form[action$="/restart"] button`)),
		poll(fmt.Sprintf(`(() => { const r = document.querySelector('tr[data-name=sleeper]');
			return window.notReloaded === true && r !== null && r.querySelector('.state').textContent === 'RUNNING' &&
				r.querySelector('.pid').textContent !== %q && r.querySelector('.pid').textContent !== ''; })()`, oldPID)),
		// caddy is protected: its row has no stop button
		poll(`document.querySelector('tr[data-name=caddy]') !== null && document.querySelector('tr[data-name=caddy] form[action$="/stop"]') === null`),
		shot("processes.jpg"),
	)
	run("stop it and see its card dimmed",
		chromedp.Click(css(`tr[data-name=sleeper] form[action$="/stop"] button`)),
		poll(`document.querySelector('tr[data-name=sleeper] .state')?.textContent === 'STOPPED'`),
		chromedp.Navigate(portal+"/"),
		poll(`document.querySelector('.card[data-program=sleeper]')?.classList.contains('dim') === true`),
		chromedp.Navigate(portal+"/processes"),
		chromedp.WaitVisible(css(`tr[data-name=sleeper] form[action$="/start"] button`)),
		chromedp.Click(css(`tr[data-name=sleeper] form[action$="/start"] button`)),
		poll(`document.querySelector('tr[data-name=sleeper] .state')?.textContent === 'RUNNING'`),
	)
	run("read a live log",
		chromedp.Navigate(portal+"/logs/talker"),
		poll(`document.querySelectorAll('#log .line').length > 3`),
		poll(`[...document.querySelectorAll('#log .line')].some(l => l.textContent.endsWith(' <script>alert(1)</script>'))`),
		poll(`document.querySelectorAll('#log script').length === 0 && document.querySelector('#log .fg2') !== null`),
	)
	n1, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#log .line').length`))
	if err != nil {
		t.Fatal(err)
	}
	run("the log grows",
		poll(fmt.Sprintf(`document.querySelectorAll('#log .line').length > %d`, n1+2)),
		shot("logs.jpg"),
	)
	n2, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#log .line').length`))
	t.Logf("log lines %d then %d", n1, n2)
}
