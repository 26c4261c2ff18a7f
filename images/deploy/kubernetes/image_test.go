package kubernetes

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpudesk/runtime/images/deploy/kubernetes/kubeletsim"
	"github.com/gpudesk/runtime/images/e2e"
)

// TestKubelet_ImageUnderTheManifestsProbes plays the kubelet for the
// cpu overlay's container with the real image: the manifest's environment
// and its Secret mounted as read-only 0400 files, the probes with the
// manifest's periods, thresholds and timeouts, a provisioning script that
// runs longer than the readiness budget, then the kubelet's stop (SIGTERM,
// SIGKILL after terminationGracePeriodSeconds). The container must start,
// stay alive while it provisions, become ready only after the script is
// done, and exit 0 on SIGTERM before the grace period ends, its programs
// stopped in dependency order (the desktop's chain) within the manifest's
// stop budget.
func TestKubelet_ImageUnderTheManifestsProbes(t *testing.T) {
	d, err := Build(filepath.Join("overlays", "cpu"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Container()
	if err != nil {
		t.Fatal(err)
	}
	probes := kubeletsim.FromContainer(c)
	grace := time.Duration(*d.StatefulSet.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	readinessBudget := time.Duration(c.ReadinessProbe.PeriodSeconds*c.ReadinessProbe.FailureThreshold) * time.Second

	image, err := e2e.BuildImage("test")
	if err != nil {
		t.Fatal(err)
	}

	// The provisioning script, served on the bridge's gateway, sleeps
	// past the readiness budget and tells the test when it is done.
	gw, err := e2e.BridgeGateway()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	provisionFor := readinessBudget + 15*time.Second
	var mu sync.Mutex
	var doneAt time.Time
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/provision.sh":
			// bash's /dev/tcp: the image need not have curl.
			host, port, _ := net.SplitHostPort(ln.Addr().String())
			fmt.Fprintf(w, "#!/bin/bash\necho provisioning for %d s\nsleep %d\nexec 3<>/dev/tcp/%s/%s && printf 'GET /done HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3\necho provisioned\n",
				int(provisionFor.Seconds()), int(provisionFor.Seconds()), host, port)
		case "/done":
			mu.Lock()
			doneAt = time.Now()
			mu.Unlock()
			fmt.Fprintln(w, "ok")
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	// The Secret, as the kubelet mounts it (defaultMode 0400, read-only).
	secrets := t.TempDir()
	for k, v := range map[string]string{"WEB_PASSWORD": "pw-" + fmt.Sprint(time.Now().UnixNano()), "WEB_TOKEN": "tok-" + fmt.Sprint(os.Getpid())} {
		if err := os.WriteFile(filepath.Join(secrets, k), []byte(v), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	mountPath := ""
	for _, m := range c.VolumeMounts {
		if m.Name == "credentials" {
			mountPath = m.MountPath
		}
	}
	if mountPath == "" {
		t.Fatal("the container mounts no credentials volume")
	}
	ws := t.TempDir()
	name := fmt.Sprintf("kubeletsim-%d", os.Getpid())
	args := []string{"run", "-d", "--name", name, "-p", "127.0.0.1::1111",
		"--add-host", "host.docker.internal:host-gateway",
		"-v", ws + ":/workspace", "-v", secrets + ":" + mountPath + ":ro",
		"-e", "PROVISIONING_SCRIPT=" + base + "/provision.sh"}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			args = append(args, "-e", e.Name+"="+e.Value)
		}
	}
	started := time.Now()
	if _, err := e2e.Docker(append(args, image)...); err != nil {
		t.Fatal(err)
	}
	defer e2e.Docker("rm", "-f", "-v", name)
	out, err := e2e.Docker("port", name, "1111/tcp")
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(strings.Split(out, "\n")[0])
	if err != nil {
		t.Fatalf("docker port: %q: %v", out, err)
	}
	var hostPort int
	fmt.Sscan(port, &hostPort)

	// The kubelet: probes until the pod has been ready for one more
	// liveness period, or until it is declared dead.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var events []kubeletsim.Event
	readyc := make(chan kubeletsim.Event, 1)
	runErr := make(chan error, 1)
	go func() {
		runErr <- kubeletsim.Run(ctx, probes, kubeletsim.Target{Host: "127.0.0.1", Ports: map[string]int{"http": hostPort, "1111": hostPort}},
			func(e kubeletsim.Event) {
				t.Logf("%6.1fs kubelet: %s", time.Since(started).Seconds(), e)
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
				if e.Kind == kubeletsim.Ready {
					select {
					case readyc <- e:
					default:
					}
				}
			})
	}()
	var ready kubeletsim.Event
	select {
	case ready = <-readyc:
	case err := <-runErr:
		logs, _ := e2e.Docker("logs", "--tail", "80", name)
		t.Fatalf("the kubelet stopped before the pod was ready: %v\n%s", err, logs)
	case <-ctx.Done():
		t.Fatal("not ready in 15 minutes")
	}
	mu.Lock()
	done := doneAt
	mu.Unlock()
	if done.IsZero() || ready.At.Before(done) {
		t.Errorf("ready at %.1fs, but provisioning (%s) finished at %v: readiness did not wait for it",
			ready.At.Sub(started).Seconds(), provisionFor, done.Sub(started))
	}
	// One more liveness period with the pod ready and provisioned.
	time.Sleep(time.Duration(c.LivenessProbe.PeriodSeconds) * time.Second)
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("declared dead: %v", err)
	}
	mu.Lock()
	for _, e := range events {
		if e.Kind == kubeletsim.Dead {
			t.Errorf("dead event: %s", e)
		}
	}
	mu.Unlock()

	// The kubelet's stop: SIGTERM, SIGKILL after the grace period.
	t0 := time.Now()
	if _, err := e2e.Docker("stop", "-t", fmt.Sprint(int(grace.Seconds())), name); err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	code, _ := e2e.Docker("inspect", "-f", "{{.State.ExitCode}}", name)
	logs, _ := e2e.Docker("logs", name)
	os.WriteFile(filepath.Join(t.TempDir(), "docker.log"), []byte(logs), 0o644)
	if code != "0" {
		t.Errorf("exit code %s after SIGTERM (137: killed at the end of the grace period)\n%s", code, tail(logs, 60))
	}
	if took >= grace {
		t.Errorf("stop took %s, the grace period is %s", took, grace)
	}
	t.Logf("docker run → ready %.1fs (provisioning %s); SIGTERM → exit %.1fs (grace %s)",
		ready.At.Sub(started).Seconds(), provisionFor, took.Seconds(), grace)
	if !strings.Contains(logs, "shutdown_budget: stopping everything within 50s") {
		t.Errorf("the manifest's stop budget was not applied:\n%s", tail(logs, 60))
	}
	// The desktop chain stops dependents first: novnc (bound to
	// kde-plasma), then kde-plasma (bound to x-server and dbus), then those.
	at := func(name string) int { return strings.Index(logs, "stopped: "+name+" (") }
	chain := []string{"novnc", "kde-plasma", "x-server"}
	for i := 1; i < len(chain); i++ {
		if a, b := at(chain[i-1]), at(chain[i]); a < 0 || b < 0 || a > b {
			t.Errorf("%s must stop before %s: at %d and %d\n%s", chain[i-1], chain[i], a, b, tail(logs, 60))
		}
	}
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
