package e2e

import (
	"context"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg"
	_ "image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/config"
)

// desktopPrograms are the desktop's conf.d files, in start order.
var desktopPrograms = []string{"x-server", "dbus", "kde-plasma", "novnc"}

// TestCheckDesktopFrame proves the frame check can fail: on a black
// frame, one colour, noise without a panel, and on what noVNC shows
// before a desktop arrives (recorded from Chromium: a blank canvas, the
// "Connecting" page, the "Failed to connect" page); and that it passes a
// real KDE Plasma frame recorded through noVNC.
func TestCheckDesktopFrame(t *testing.T) {
	solid := func(c color.Color) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, 1280, 800))
		for y := range 800 {
			for x := range 1280 {
				img.Set(x, y, c)
			}
		}
		return img
	}
	noise := func() image.Image {
		r := rand.New(rand.NewPCG(1, 2))
		img := image.NewRGBA(image.Rect(0, 0, 1280, 800))
		for y := range 800 {
			for x := range 1280 {
				img.Set(x, y, color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
			}
		}
		return img
	}
	// A gradient wallpaper with a dark panel at the bottom: what the check
	// is meant to accept, drawn.
	drawn := func() image.Image {
		img := image.NewRGBA(image.Rect(0, 0, 1280, 800))
		for y := range 800 {
			for x := range 1280 {
				c := color.RGBA{uint8(x * 255 / 1280), uint8(y * 255 / 800), 160, 255}
				if y >= 760 {
					c = color.RGBA{30, 32, 36, 255}
				}
				img.Set(x, y, c)
			}
		}
		return img
	}
	tests := []struct {
		name string
		img  func(t *testing.T) image.Image
		ok   bool
		want string // in the error
	}{
		{"black", func(*testing.T) image.Image { return solid(color.Black) }, false, "1 colours"},
		{"one colour", func(*testing.T) image.Image { return solid(color.RGBA{61, 174, 233, 255}) }, false, "1 colours"},
		{"noise without a panel", func(*testing.T) image.Image { return noise() }, false, "no panel"},
		{"tiny", func(*testing.T) image.Image { return image.NewRGBA(image.Rect(0, 0, 10, 10)) }, false, "10x10"},
		{"novnc blank canvas", fixture("novnc-blank.png"), false, "colours"},
		{"novnc connecting", fixture("novnc-connecting.png"), false, "colours"},
		{"novnc failed to connect", fixture("novnc-failed.png"), false, "colours"},
		{"drawn desktop", func(*testing.T) image.Image { return drawn() }, true, ""},
		{"kde plasma through novnc", fixture("kde-desktop.png"), true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := CheckDesktopFrame(tc.img(t))
			t.Logf("%+v", st)
			if tc.ok {
				if err != nil {
					t.Fatalf("a desktop refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func fixture(name string) func(t *testing.T) image.Image {
	return func(t *testing.T) image.Image {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, _, err := image.Decode(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return img
	}
}

// TestDesktopConf loads the desktop's conf.d files in our supervisord
// (--check) and in Python supervisor 4.2.5, as provisioner boot's
// environment has them (USER_NAME and the AUTOSTART_* toggles set), and
// checks the chain x-server -> dbus -> kde-plasma -> novnc.
func TestDesktopConf(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, p := range desktopPrograms {
		f, err := filepath.Abs(filepath.Join("../../conf.d", p+".conf"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	main := filepath.Join(dir, "supervisord.conf")
	text := "[supervisord]\nlogfile=/dev/null\npidfile=" + filepath.Join(dir, "sd.pid") + "\n\n[include]\nfiles = " + strings.Join(files, " ") + "\n"
	if err := os.WriteFile(main, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// nobody: a user every Debian and Ubuntu has (Python resolves user= at
	// load).
	env := []string{"USER_NAME=nobody", "PATH=" + os.Getenv("PATH")}
	for _, p := range desktopPrograms {
		env = append(env, "AUTOSTART_"+strings.ToUpper(strings.ReplaceAll(p, "-", "_"))+"=true")
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}

	cfg, err := config.Load(main)
	if err != nil {
		t.Fatalf("our loader: %v", err)
	}
	procs := map[string]*config.Process{}
	for _, g := range cfg.Groups {
		for _, p := range g.Processes {
			procs[p.Name] = p
		}
	}
	for _, want := range []struct {
		name, user, ready string
		depends, bind     []string
	}{
		{"x-server", "", "unix:/tmp/.X11-unix/X0", nil, nil},
		{"dbus", "nobody", "unix:/tmp/runtime-nobody/bus", nil, nil},
		{"kde-plasma", "nobody", "exec:/usr/sbin/runuser -u nobody -- /usr/bin/dbus-send", nil, []string{"x-server", "dbus"}},
		{"novnc", "", "tcp:127.0.0.1:16200", []string{"kde-plasma"}, []string{"x-server"}},
	} {
		p, ok := procs[want.name]
		if !ok {
			t.Errorf("no program %s in %v", want.name, procs)
			continue
		}
		if !p.Autostart || p.User != want.user || p.Ready == nil || !strings.HasPrefix(p.Ready.Text, want.ready) ||
			fmt.Sprint(p.DependsOn) != fmt.Sprint(want.depends) || fmt.Sprint(p.BindTo) != fmt.Sprint(want.bind) {
			t.Errorf("%s: autostart %v, user %q, ready %+v, depends_on %v, bind_to %v; want user %q, ready %q…, depends_on %v, bind_to %v",
				want.name, p.Autostart, p.User, p.Ready, p.DependsOn, p.BindTo, want.user, want.ready, want.depends, want.bind)
		}
	}

	sd := filepath.Join(dir, "supervisord")
	if out, err := exec.Command("go", "build", "-o", sd, "github.com/gpudesk/runtime/supervisor/cmd/supervisord").CombinedOutput(); err != nil {
		t.Fatalf("building supervisord: %v\n%s", err, out)
	}
	if out, err := exec.Command(sd, "-c", main, "--check").CombinedOutput(); err != nil || !strings.Contains(string(out), "ok (4 programs") {
		t.Errorf("supervisord --check: %v\n%s", err, out)
	}

	// Python supervisor is the reference these files must load in; without
	// it the test cannot say anything, so it fails rather than skips.
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import supervisor.options").CombinedOutput(); err != nil {
		t.Fatalf("Debian's Python supervisor 4.2.5 is needed (%v %s); scripts/test installs it (apt-get install supervisor)", err, out)
	}
	check := `import sys
from supervisor.options import ServerOptions
o = ServerOptions()
o.realize(["-c", sys.argv[1]])
print(" ".join("%s:%s:%s" % (p.name, p.priority, p.uid) for g in sorted(o.process_group_configs, key=lambda g: g.priority) for p in g.process_configs))
`
	out, err := exec.Command(py, "-c", check, main).CombinedOutput()
	if err != nil {
		t.Fatalf("Python supervisor: %v\n%s", err, out)
	}
	// Python ignores the readiness keys and starts by priority: the
	// priorities keep the same order.
	if got, want := strings.TrimSpace(string(out)), "dbus:300:65534 x-server:300:None kde-plasma:400:65534 novnc:500:None"; got != want {
		t.Errorf("Python supervisor loaded %q, want %q", got, want)
	}
}

// TestDesktop_Image boots the image GPUDESK_IMAGE names (the tag
// scripts/build-image prints), logs in through the portal with Chromium,
// opens the desktop's card and checks that the noVNC canvas shows KDE
// Plasma; then kills the X server and checks that the whole desktop comes
// back. It reports the time from `docker run` to the login page and to
// the first desktop frame, and the idle container's memory. Screenshots
// go to GPUDESK_ARTEFACTS (a new temporary folder when unset; printed).
func TestDesktop_Image(t *testing.T) {
	img := os.Getenv("GPUDESK_IMAGE")
	if img == "" {
		t.Skip("GPUDESK_IMAGE is not set (the tag `scripts/build-image test` prints)")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatal("GPUDESK_IMAGE is set but there is no docker client")
	}
	artefacts := os.Getenv("GPUDESK_ARTEFACTS")
	if artefacts == "" {
		artefacts, _ = os.MkdirTemp("", "gpudesk-desktop-artefacts")
	}
	t.Logf("screenshots in %s", artefacts)

	name := fmt.Sprintf("desktop-e2e-%d", os.Getpid())
	const user, password = "tester", "correct horse battery staple"
	const desktopUser = "deskuser" // USER_NAME: the desktop runs as this user
	docker := func(args ...string) (string, error) {
		out, err := exec.Command("docker", args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	start := time.Now()
	// No published ports: the browser reaches the container's own address
	// (nothing on the host's 1111 or 6200 is taken, and the portal's
	// Direct link is the address the browser used).
	if out, err := docker("run", "-d", "--name", name, "-e", "WEB_USER="+user, "-e", "WEB_PASSWORD="+password, "-e", "USER_NAME="+desktopUser, img); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := docker("logs", "--tail", "200", name)
			t.Logf("docker logs:\n%s", out)
			st, _ := docker("exec", name, "supervisorctl", "status")
			t.Logf("supervisorctl status:\n%s", st)
		}
		docker("rm", "-f", name)
	})
	ip, err := docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)
	if err != nil || ip == "" {
		t.Fatalf("the container's address: %q %v", ip, err)
	}
	portal := "http://" + ip + ":1111"

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	loginAt, err := waitLoginPage(ctx, portal)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("docker run to the login page through Caddy: %s", loginAt.Sub(start).Round(10*time.Millisecond))

	// The desktop's clipboard is KDE's (klipper), asked on the session bus
	// as the desktop's user.
	klipper := func(method string, args ...string) (string, error) {
		cmd := append([]string{"exec", "-e", "DBUS_SESSION_BUS_ADDRESS=unix:path=/tmp/runtime-" + desktopUser + "/bus", name,
			"runuser", "-u", desktopUser, "--", "dbus-send", "--session", "--print-reply", "--dest=org.kde.klipper", "/klipper",
			"org.kde.klipper.klipper." + method}, args...)
		return docker(cmd...)
	}
	clipboard := func(ctx context.Context) error {
		if out, err := klipper("setClipboardContents", "string:copied on the desktop"); err != nil {
			return fmt.Errorf("setting the desktop's clipboard: %v %s", err, out)
		}
		if err := WaitClipboard(ctx, "copied on the desktop"); err != nil {
			return fmt.Errorf("the desktop's clipboard in the browser: %w", err)
		}
		if err := SendClipboard(ctx, "pasted in the browser"); err != nil {
			return err
		}
		for {
			out, err := klipper("getClipboardContents")
			if err == nil && strings.Contains(out, `"pasted in the browser"`) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the browser's clipboard on the desktop: %v %s", err, out)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	check := DesktopCheck{PortalURL: portal, User: user, Password: password, Artefacts: artefacts, AfterFrame: clipboard}
	res, err := check.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("docker run to the first desktop frame in the browser: %s (noVNC connected at %s); frame %+v; %s",
		res.FirstFrame.Sub(start).Round(10*time.Millisecond), res.Connected.Sub(start).Round(10*time.Millisecond), res.Frame, res.Screenshot)

	t.Log("clipboard: from the desktop to the browser and back: ok")
	if out, _ := docker("exec", name, "ps", "-o", "user=", "-C", "plasmashell"); out != desktopUser {
		t.Errorf("plasmashell runs as %q, want USER_NAME %q", out, desktopUser)
	}

	// Idle: the desktop has settled (KDE's start-up jobs are done) when
	// its memory stops growing; read it a few times, a few seconds apart.
	var mem string
	for range 4 {
		time.Sleep(5 * time.Second)
		mem, _ = docker("stats", "--no-stream", "--format", "{{.MemUsage}} {{.CPUPerc}}", name)
	}
	t.Logf("idle container, desktop shown: memory and CPU %s", mem)
	pss, _ := docker("exec", name, "sh", "-c", `for p in $(pgrep -u "$(id -u ${USER_NAME:-user})") $(pgrep -x Xvnc); do awk '/^Pss:/ {s+=$2} END {print s}' /proc/$p/smaps_rollup; done 2>/dev/null | awk '{s+=$1} END {printf "%.0f MiB", s/1024}'`)
	t.Logf("the desktop's processes (the user's and Xvnc), PSS: %s", pss)

	// A dead X server brings the whole desktop back (bind_to).
	before, _ := docker("exec", name, "supervisorctl", "pid", "kde-plasma")
	if out, err := docker("exec", name, "supervisorctl", "signal", "KILL", "x-server"); err != nil {
		t.Fatalf("killing the X server: %v %s", err, out)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, _ := docker("exec", name, "supervisorctl", "status", "kde-plasma", "novnc")
		now, _ := docker("exec", name, "supervisorctl", "pid", "kde-plasma")
		if now != before && now != "0" && strings.Count(st, "RUNNING") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session did not come back after the X server died: kde-plasma pid %s then %s\n%s", before, now, st)
		}
		time.Sleep(500 * time.Millisecond)
	}
	check.Artefacts, check.AfterFrame = filepath.Join(artefacts, "after-x-server-crash"), nil
	res2, err := check.Run(ctx)
	if err != nil {
		t.Fatalf("after the X server died: %v", err)
	}
	t.Logf("after the X server died, a desktop again: %+v, %s", res2.Frame, res2.Screenshot)
}

// waitLoginPage waits until the portal's login page answers through
// Caddy, and returns when it did.
func waitLoginPage(ctx context.Context, portal string) (time.Time, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		resp, err := client.Get(portal + "/login")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 && resp.Header.Get("X-Gpudesk-Starting") == "" {
				return time.Now(), nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("the login page at %s/login did not answer: %s", portal, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
