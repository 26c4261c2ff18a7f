// Package e2e builds the images with scripts/build-image and boots the CPU
// test image with `docker run`, checking it as a user would. It needs a
// Docker engine (scripts/test installs and starts one): without one the
// tests fail, they do not skip.
//
// Booted is the shared fixture: the first caller builds the image and
// boots one container, and every test file of the package (the desktop's
// too) gets the same one.
package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Container is the booted test container.
type Container struct {
	Name        string // docker container name
	Image       string // the image's tag
	PortalPort  string // 127.0.0.1:<PortalPort> is the container's 1111 (Caddy)
	DesktopPort string // 127.0.0.1:<DesktopPort> is the container's 6200 (the desktop through Caddy)
	SSHPort     string // 127.0.0.1:<SSHPort> is the container's 22
	WebUser     string
	WebPassword string
	SSHKeyFile  string // the private key whose public half was SSH_PUBKEY
	Workspace   string // the host folder mounted at /workspace
	Artefacts   string // screenshots and logs are kept here (printed)

	BuildTook   time.Duration // scripts/build-image test
	Started     time.Time     // when docker run was called
	LoginPageIn time.Duration // docker run -> login page served through Caddy

	provisionHits *atomic.Int64 // requests for the provisioning script
}

var (
	bootOnce sync.Once
	booted   *Container
	bootErr  error
	cleanups []func()
)

// Booted returns the container, building and booting it on first use.
func Booted(t testing.TB) *Container {
	t.Helper()
	bootOnce.Do(func() { booted, bootErr = boot() })
	if bootErr != nil {
		t.Fatalf("booting the test image: %v", bootErr)
	}
	return booted
}

// Cleanup removes the container and its workspace (TestMain calls it).
func Cleanup() {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}

// RepoRoot is the repository's root folder: the nearest folder above the
// working directory whose go.mod is the main module's (tests of the nested
// modules under images/ call it too).
func RepoRoot() string {
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/gpudesk/runtime\n")) {
			return d
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "..", "..")
		}
	}
}

// testImage is the TEST_IMAGE of docker-bake.hcl (a name of one's own
// keeps parallel runs on a shared engine apart).
func testImage() string {
	if v := os.Getenv("TEST_IMAGE"); v != "" {
		return v
	}
	return "gpudesk-test"
}

// BuildImage runs scripts/build-image TARGET and returns the tag it printed.
func BuildImage(target string) (string, error) {
	cmd := exec.Command(filepath.Join(RepoRoot(), "scripts", "build-image"), target)
	cmd.Env = append(os.Environ(), "TEST_IMAGE="+testImage())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tail := errb.String()
		if len(tail) > 6000 {
			tail = tail[len(tail)-6000:]
		}
		return "", fmt.Errorf("scripts/build-image %s: %w\n%s", target, err, tail)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// Docker runs a docker command and returns its trimmed output.
func Docker(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out)), nil
}

// Exec runs a command in the container.
func (c *Container) Exec(args ...string) (string, error) {
	return Docker(append([]string{"exec", c.Name}, args...)...)
}

// URL is a URL of the portal's port on the host.
func (c *Container) URL(path string) string { return "http://127.0.0.1:" + c.PortalPort + path }

// ProvisionHits is how often the provisioning script was fetched.
func (c *Container) ProvisionHits() int64 { return c.provisionHits.Load() }

func boot() (*Container, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, fmt.Errorf("no docker client (scripts/test installs docker.io and starts dockerd): %w", err)
	}
	built := time.Now()
	image, err := BuildImage("test")
	if err != nil {
		return nil, err
	}
	c := &Container{Image: image, WebUser: "renter", BuildTook: time.Since(built), provisionHits: new(atomic.Int64)}
	c.WebPassword = "pw-" + randHex(12)
	c.Name = fmt.Sprintf("%s-e2e-%d-%s", strings.ReplaceAll(testImage(), "/", "-"), os.Getpid(), randHex(3))
	if c.Artefacts = os.Getenv("E2E_ARTEFACTS"); c.Artefacts == "" {
		if c.Artefacts, err = os.MkdirTemp("", "gpudesk-e2e-"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(c.Artefacts, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "e2e: artefacts (screenshots, logs) in %s\n", c.Artefacts)
	if c.Workspace, err = os.MkdirTemp("", "gpudesk-e2e-workspace-"); err != nil {
		return nil, err
	}
	os.Chmod(c.Workspace, 0o755)
	ws := c.Workspace
	cleanups = append(cleanups, func() { os.RemoveAll(ws) })

	pub, err := sshKey(filepath.Join(c.Artefacts, "id_ed25519"))
	if err != nil {
		return nil, err
	}
	c.SSHKeyFile = filepath.Join(c.Artefacts, "id_ed25519")

	url, err := c.serveProvisioning()
	if err != nil {
		return nil, err
	}

	c.Started = time.Now()
	if _, err := Docker("run", "-d", "--name", c.Name,
		"-p", "127.0.0.1::1111", "-p", "127.0.0.1::6200", "-p", "127.0.0.1::22",
		"--add-host", "host.docker.internal:host-gateway",
		"-v", c.Workspace+":/workspace",
		"-e", "WEB_USER="+c.WebUser, "-e", "WEB_PASSWORD="+c.WebPassword,
		"-e", "SSH_PUBKEY="+pub, "-e", "PROVISIONING_SCRIPT="+url,
		c.Image); err != nil {
		return nil, err
	}
	name := c.Name
	cleanups = append(cleanups, func() {
		if os.Getenv("E2E_KEEP") == "" {
			exec.Command("docker", "rm", "-f", "-v", name).Run()
		}
	})
	if err := c.ReadPorts(); err != nil {
		return nil, err
	}
	if err := c.WaitLoginPage(3 * time.Minute); err != nil {
		return nil, err
	}
	c.LoginPageIn = time.Since(c.Started)
	return c, nil
}

// ReadPorts reads the host ports docker published (they change at every
// docker start: the ports are picked at random, so that runs on a shared
// engine never collide).
func (c *Container) ReadPorts() error {
	for port, dst := range map[string]*string{"1111": &c.PortalPort, "6200": &c.DesktopPort, "22": &c.SSHPort} {
		out, err := Docker("port", c.Name, port+"/tcp")
		if err != nil {
			return err
		}
		_, p, err := net.SplitHostPort(strings.Split(out, "\n")[0])
		if err != nil {
			return fmt.Errorf("docker port %s %s: %q: %w", c.Name, port, out, err)
		}
		*dst = p
	}
	return nil
}

// WaitLoginPage waits until Caddy serves the portal's login page.
func (c *Container) WaitLoginPage(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cl := &http.Client{Timeout: 5 * time.Second}
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", c.URL("/login"), nil)
		resp, err := cl.Do(req)
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(b.String(), `name="password"`) {
				return nil
			}
			last = fmt.Sprintf("status %d", resp.StatusCode)
		} else {
			last = err.Error()
		}
		if state, _ := Docker("inspect", "-f", "{{.State.Status}}", c.Name); state != "running" {
			logs, _ := Docker("logs", "--tail", "60", c.Name)
			return fmt.Errorf("container %s is %s before the login page came:\n%s", c.Name, state, logs)
		}
		select {
		case <-ctx.Done():
			logs, _ := Docker("logs", "--tail", "60", c.Name)
			return fmt.Errorf("no login page on %s within %s (last: %s):\n%s", c.URL("/login"), limit, last, logs)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// serveProvisioning serves the provisioning script on the docker bridge's
// gateway address, which the container reaches as host.docker.internal.
func (c *Container) serveProvisioning() (string, error) {
	gw, err := BridgeGateway()
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
	if err != nil {
		return "", fmt.Errorf("listening on the bridge gateway: %w", err)
	}
	script := "#!/bin/bash\nset -e\necho \"provisioning ran as $(id -un) in $PWD\"\ndate >>\"$WORKSPACE/provisioned.txt\"\n"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/provision.sh" {
			http.NotFound(w, r)
			return
		}
		c.provisionHits.Add(1)
		w.Header().Set("Content-Type", "text/x-shellscript")
		w.Write([]byte(script))
	})}
	go srv.Serve(ln)
	cleanups = append(cleanups, func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "http://host.docker.internal:" + port + "/provision.sh", nil
}

func sshKey(path string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, "gpudesk e2e")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " e2e", nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// BridgeGateway is the host's address on docker's default bridge: its
// IPAM gateway, or (engine 20.10 leaves that empty) the bridge
// interface's IPv4 address.
func BridgeGateway() (string, error) {
	gw, err := Docker("network", "inspect", "bridge", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}")
	if err != nil {
		return "", err
	}
	if net.ParseIP(gw) != nil {
		return gw, nil
	}
	name, err := Docker("network", "inspect", "bridge", "-f", `{{index .Options "com.docker.network.bridge.name"}}`)
	if err != nil || name == "" || name == "<no value>" {
		name = "docker0"
	}
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return "", fmt.Errorf("docker's bridge interface %s: %w", name, err)
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return "", fmt.Errorf("addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return ipn.IP.String(), nil
		}
	}
	return "", fmt.Errorf("docker's bridge interface %s has no IPv4 address", name)
}
