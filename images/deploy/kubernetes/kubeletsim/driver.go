// Package kubeletsim drives a container's probes as the kubelet does, for
// tests where no cluster can run: the same probe definitions (from the
// manifests, as k8s.io/api types), the same initial delays, periods,
// timeouts and thresholds, against an HTTP address and an exec function
// the test provides, and reports what the kubelet would decide: started,
// ready, not ready, dead.
//
// What it follows of the kubelet (pkg/kubelet/prober): nothing but the
// startup probe runs until it has succeeded once; then liveness and
// readiness run side by side, each on its own period. A probe's result
// counts after failureThreshold failures in a row (or successThreshold
// successes, for readiness; startup and liveness need one). An HTTP
// probe passes on a status from 200 to 399; an attempt that takes longer
// than timeoutSeconds fails. Startup or liveness failing is a dead
// container (the kubelet would kill and restart it); the driver stops
// there. Readiness starts as not ready.
package kubeletsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Probes are a container's three probes (nil: not defined).
type Probes struct {
	Startup, Readiness, Liveness *corev1.Probe
}

// FromContainer returns c's probes.
func FromContainer(c *corev1.Container) Probes {
	return Probes{Startup: c.StartupProbe, Readiness: c.ReadinessProbe, Liveness: c.LivenessProbe}
}

// Kind is what the driver decided.
type Kind string

const (
	Started  Kind = "started"   // the startup probe passed (or there is none)
	Ready    Kind = "ready"     // readiness passed successThreshold times in a row
	NotReady Kind = "not-ready" // readiness failed failureThreshold times in a row
	Dead     Kind = "dead"      // startup or liveness failed failureThreshold times in a row
)

// Event is one decision, with the attempt that made it.
type Event struct {
	Kind   Kind
	Probe  string // "startup", "readiness" or "liveness"
	At     time.Time
	Reason string // the last attempt's failure ("" on success)
	// Attempts is how many attempts that probe had made, this one included.
	Attempts int
}

func (e Event) String() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s (%s probe, attempt %d: %s)", e.Kind, e.Probe, e.Attempts, e.Reason)
	}
	return fmt.Sprintf("%s (%s probe, attempt %d)", e.Kind, e.Probe, e.Attempts)
}

// Target is where the probes go.
type Target struct {
	// Host is the pod's address as the node sees it ("127.0.0.1"
	// for a container with published ports).
	Host string
	// Ports maps a probe's port, as written (a name such as "http" or a
	// number), to the port to dial. A number missing from it is dialled
	// as it is; a name missing from it is an error.
	Ports map[string]int
	// Exec runs an exec probe's command in the container; nil makes exec
	// probes fail.
	Exec func(ctx context.Context, command []string) error
	// Client makes the HTTP requests (nil: one that follows no redirect,
	// as the kubelet counts a 3xx as success without following it
	// off-host).
	Client *http.Client
}

// ErrDead is Run's error when the container was declared dead.
var ErrDead = errors.New("container declared dead")

// Run drives p against t until ctx ends (it returns nil) or the container
// is declared dead (it returns an error wrapping ErrDead). Every event is
// passed to onEvent, one at a time, in order.
func Run(ctx context.Context, p Probes, t Target, onEvent func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if t.Client == nil {
		t.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	var mu sync.Mutex
	var dead error
	emit := func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if dead != nil {
			return
		}
		if e.Kind == Dead {
			dead = fmt.Errorf("%w: %s", ErrDead, e)
			cancel()
		}
		onEvent(e)
	}
	if p.Startup != nil {
		w := newWorker("startup", p.Startup, t)
		ok := w.run(ctx, func(passed bool, attempts int, reason string) bool {
			switch {
			case passed:
				emit(Event{Kind: Started, Probe: w.name, At: time.Now(), Attempts: attempts})
				return false // done: the others begin
			case reason != "":
				emit(Event{Kind: Dead, Probe: w.name, At: time.Now(), Reason: reason, Attempts: attempts})
				return false
			}
			return true
		})
		mu.Lock()
		err := dead
		mu.Unlock()
		if !ok || err != nil {
			return err // ctx ended (nil), or dead
		}
	} else {
		emit(Event{Kind: Started, Probe: "startup", At: time.Now()})
	}
	var wg sync.WaitGroup
	if p.Liveness != nil {
		w := newWorker("liveness", p.Liveness, t)
		wg.Go(func() {
			w.run(ctx, func(passed bool, attempts int, reason string) bool {
				if !passed && reason != "" {
					emit(Event{Kind: Dead, Probe: w.name, At: time.Now(), Reason: reason, Attempts: attempts})
					return false
				}
				return true
			})
		})
	}
	if p.Readiness != nil {
		w := newWorker("readiness", p.Readiness, t)
		wg.Go(func() {
			ready := false
			w.run(ctx, func(passed bool, attempts int, reason string) bool {
				switch {
				case passed && !ready:
					ready = true
					emit(Event{Kind: Ready, Probe: w.name, At: time.Now(), Attempts: attempts})
				case !passed && reason != "" && ready:
					ready = false
					emit(Event{Kind: NotReady, Probe: w.name, At: time.Now(), Reason: reason, Attempts: attempts})
				}
				return true
			})
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return dead
}

// worker runs one probe on its period and applies its thresholds.
type worker struct {
	name   string
	probe  *corev1.Probe
	target Target
}

func newWorker(name string, p *corev1.Probe, t Target) *worker {
	return &worker{name: name, probe: p, target: t}
}

// seconds returns v in seconds, or def when v is 0 (the API's defaults).
func seconds(v, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

// run attempts the probe every period until ctx ends or decide returns
// false. decide gets passed=true once successThreshold attempts passed in
// a row, and a non-empty reason once failureThreshold failed in a row
// (passed false and reason "" in between). run reports whether decide
// stopped it (false when ctx ended).
func (w *worker) run(ctx context.Context, decide func(passed bool, attempts int, reason string) bool) bool {
	p := w.probe
	period := seconds(p.PeriodSeconds, 10)
	timeout := seconds(p.TimeoutSeconds, 1)
	failures := max(p.FailureThreshold, 0)
	if failures == 0 {
		failures = 3
	}
	successes := max(p.SuccessThreshold, 1)
	if delay := time.Duration(p.InitialDelaySeconds) * time.Second; delay > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(delay):
		}
	}
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	var okRun, badRun int32
	for attempts := 1; ; attempts++ {
		err := w.attempt(ctx, timeout)
		if ctx.Err() != nil {
			return false
		}
		more := true
		if err == nil {
			okRun, badRun = okRun+1, 0
			if okRun >= successes {
				more = decide(true, attempts, "")
			}
		} else {
			okRun, badRun = 0, badRun+1
			reason := ""
			if badRun >= failures {
				reason = err.Error()
			}
			more = decide(false, attempts, reason)
		}
		if !more {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-ticker.C:
		}
	}
}

// attempt runs the probe once within timeout.
func (w *worker) attempt(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h := w.probe.ProbeHandler
	switch {
	case h.HTTPGet != nil:
		return w.httpGet(ctx, h.HTTPGet, timeout)
	case h.TCPSocket != nil:
		port, err := w.port(h.TCPSocket.Port)
		if err != nil {
			return err
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(w.host(h.TCPSocket.Host), strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return c.Close()
	case h.Exec != nil:
		if w.target.Exec == nil {
			return errors.New("exec probe, but the target runs no commands")
		}
		if err := w.target.Exec(ctx, h.Exec.Command); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("command %q timed out after %s", h.Exec.Command, timeout)
			}
			return fmt.Errorf("command %q: %w", h.Exec.Command, err)
		}
		return nil
	}
	return errors.New("probe has no httpGet, tcpSocket or exec handler (grpc is not simulated)")
}

func (w *worker) host(h string) string {
	if h != "" {
		return h
	}
	return w.target.Host
}

func (w *worker) port(p intstr.IntOrString) (int, error) {
	if n, ok := w.target.Ports[p.String()]; ok {
		return n, nil
	}
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	return 0, fmt.Errorf("port %q is not in the target's ports", p.String())
}

func (w *worker) httpGet(ctx context.Context, g *corev1.HTTPGetAction, timeout time.Duration) error {
	port, err := w.port(g.Port)
	if err != nil {
		return err
	}
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(w.host(g.Host), strconv.Itoa(port)), g.Path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/1.37")
	for _, h := range g.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := w.target.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("GET %s: timed out after %s", g.Path, timeout)
		}
		return fmt.Errorf("GET %s: %w", g.Path, err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: HTTP %d", g.Path, resp.StatusCode)
	}
	return nil
}
