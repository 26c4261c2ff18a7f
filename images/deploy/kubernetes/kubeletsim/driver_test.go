package kubeletsim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// script is an HTTP server whose paths answer a scripted list of statuses
// (the last one repeats), counting requests: the tests depend on how many
// attempts were made, never on how long they took.
type script struct {
	mu      sync.Mutex
	answers map[string][]int
	counts  map[string]int
	order   []string // paths in the order they were asked
	hang    map[string]bool
}

func newScript(answers map[string][]int) *script {
	return &script{answers: answers, counts: map[string]int{}, hang: map[string]bool{}}
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	path := r.URL.Path
	s.order = append(s.order, path)
	n := s.counts[path]
	s.counts[path] = n + 1
	list, ok := s.answers[path]
	hang := s.hang[path]
	s.mu.Unlock()
	if hang {
		<-r.Context().Done() // longer than any timeout: the client gives up
		return
	}
	if !ok || len(list) == 0 {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(list[min(n, len(list)-1)])
}

func (s *script) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// askedBefore lists the other paths asked before path's nth request.
func (s *script) askedBefore(path string, n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	seen := 0
	for _, p := range s.order {
		if p == path {
			if seen++; seen == n {
				break
			}
		} else {
			out = append(out, p)
		}
	}
	return out
}

func serve(t *testing.T, s *script) Target {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	host, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return Target{Host: host, Ports: map[string]int{"http": n}}
}

func httpProbe(path string, failures, successes int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
		PeriodSeconds: 1,
		// Generous: a loaded machine must not turn a slow answer into a
		// failure the test did not script (TestRun_timeoutIsAFailure sets 1).
		TimeoutSeconds:   10,
		FailureThreshold: failures,
		SuccessThreshold: successes,
	}
}

// run drives p against tg; stop(events) says when the test has seen
// enough (then the driver is cancelled). It returns the events and Run's
// error.
func run(t *testing.T, p Probes, tg Target, stop func([]Event) bool) ([]Event, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var events []Event
	seen := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, p, tg, func(e Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
			select {
			case seen <- struct{}{}:
			default:
			}
		})
	}()
	deadline := time.After(2 * time.Minute)
	for {
		mu.Lock()
		enough := stop(append([]Event(nil), events...))
		mu.Unlock()
		if enough {
			cancel()
		}
		select {
		case err := <-done:
			mu.Lock()
			defer mu.Unlock()
			return events, err
		case <-seen:
		case <-deadline:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("driver still running after 2 minutes; events so far: %v", events)
		}
	}
}

func kinds(events []Event) string {
	var out []string
	for _, e := range events {
		out = append(out, string(e.Kind)+"@"+e.Probe+"#"+strconv.Itoa(e.Attempts))
	}
	return strings.Join(out, " ")
}

func has(events []Event, k Kind) bool {
	for _, e := range events {
		if e.Kind == k {
			return true
		}
	}
	return false
}

// A server that answers 503 four times before it is healthy is not dead
// while the startup probe allows six failures: it starts on the fifth
// attempt, and only then are readiness and liveness asked.
func TestRun_slowStartIsNotDeadWithinTheStartupBudget(t *testing.T) {
	s := newScript(map[string][]int{
		"/healthz": {503, 503, 503, 503, 200},
		"/readyz":  {200},
		"/livez":   {200},
	})
	tg := serve(t, s)
	p := Probes{
		Startup:   httpProbe("/healthz", 6, 1),
		Readiness: httpProbe("/readyz", 3, 1),
		Liveness:  httpProbe("/livez", 3, 1),
	}
	events, err := run(t, p, tg, func(ev []Event) bool { return has(ev, Ready) })
	if err != nil {
		t.Fatalf("Run: %v (events %s)", err, kinds(events))
	}
	if has(events, Dead) || len(events) < 2 || events[0].Kind != Started || events[0].Attempts != 5 {
		t.Fatalf("events %s, want started on attempt 5 of the startup probe, then ready, never dead", kinds(events))
	}
	if early := s.askedBefore("/healthz", 5); len(early) > 0 {
		t.Errorf("%v asked before the startup probe passed (order %v)", early, s.order)
	}
}

// A startup probe that never passes declares the container dead after
// exactly failureThreshold attempts, and nothing else is asked.
func TestRun_startupExhaustedIsDead(t *testing.T) {
	s := newScript(map[string][]int{"/healthz": {503}, "/readyz": {200}})
	tg := serve(t, s)
	p := Probes{Startup: httpProbe("/healthz", 3, 1), Readiness: httpProbe("/readyz", 3, 1)}
	events, err := run(t, p, tg, func([]Event) bool { return false })
	if !errors.Is(err, ErrDead) {
		t.Fatalf("Run = %v, want ErrDead (events %s)", err, kinds(events))
	}
	if kinds(events) != "dead@startup#3" || !strings.Contains(events[0].Reason, "HTTP 503") {
		t.Errorf("events %s (%v), want dead on the 3rd startup attempt with HTTP 503", kinds(events), events)
	}
	if n := s.count("/healthz"); n != 3 {
		t.Errorf("%d startup attempts, want 3", n)
	}
	if s.count("/readyz") != 0 {
		t.Errorf("readiness was asked although the startup probe never passed")
	}
}

// Liveness counts failures in a row: two answers, then failures; dead on
// the third failure (attempt 5), not before.
func TestRun_livenessFailuresInARowAreDead(t *testing.T) {
	s := newScript(map[string][]int{"/livez": {200, 200, 500}})
	tg := serve(t, s)
	events, err := run(t, Probes{Liveness: httpProbe("/livez", 3, 1)}, tg, func([]Event) bool { return false })
	if !errors.Is(err, ErrDead) {
		t.Fatalf("Run = %v, want ErrDead", err)
	}
	if got := kinds(events); got != "started@startup#0 dead@liveness#5" {
		t.Errorf("events %s, want started then dead on liveness attempt 5", got)
	}
}

// Readiness applies both thresholds: successThreshold=2 and
// failureThreshold=2 over 503 200 200 503 200 503 503 200 200 give ready
// at attempt 3, not ready at 7, ready again at 9; one failure between
// successes (attempt 4) changes nothing.
func TestRun_readinessThresholds(t *testing.T) {
	s := newScript(map[string][]int{"/readyz": {503, 200, 200, 503, 200, 503, 503, 200, 200}})
	tg := serve(t, s)
	events, err := run(t, Probes{Readiness: httpProbe("/readyz", 2, 2)}, tg, func(ev []Event) bool {
		return len(ev) >= 4
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(events); got != "started@startup#0 ready@readiness#3 not-ready@readiness#7 ready@readiness#9" {
		t.Errorf("events %s", got)
	}
}

// An attempt that outlasts timeoutSeconds fails: a server that never
// answers is dead after failureThreshold timeouts.
func TestRun_timeoutIsAFailure(t *testing.T) {
	s := newScript(nil)
	s.hang["/healthz"] = true
	tg := serve(t, s)
	p := httpProbe("/healthz", 2, 1)
	p.TimeoutSeconds = 1
	events, err := run(t, Probes{Startup: p}, tg, func([]Event) bool { return false })
	if !errors.Is(err, ErrDead) || len(events) != 1 || !strings.Contains(events[0].Reason, "timed out after 1s") {
		t.Fatalf("Run = %v, events %v; want dead after 2 timeouts", err, events)
	}
}

// Exec and TCP probes: readiness through a command that fails until the
// test lets it pass, liveness by connecting to the named port.
func TestRun_execAndTCP(t *testing.T) {
	s := newScript(nil)
	tg := serve(t, s)
	var calls atomic.Int32
	var gotCmd atomic.Value
	tg.Exec = func(ctx context.Context, cmd []string) error {
		gotCmd.Store(strings.Join(cmd, " "))
		if calls.Add(1) < 3 {
			return errors.New("exit status 1")
		}
		return nil
	}
	p := Probes{
		Readiness: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"supervisorctl", "ready"}}},
			PeriodSeconds: 1, TimeoutSeconds: 10, FailureThreshold: 3, SuccessThreshold: 1,
		},
		Liveness: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}},
			PeriodSeconds: 1, TimeoutSeconds: 10, FailureThreshold: 1,
		},
	}
	events, err := run(t, p, tg, func(ev []Event) bool { return has(ev, Ready) })
	if err != nil {
		t.Fatalf("Run: %v (events %s)", err, kinds(events))
	}
	if got := kinds(events); got != "started@startup#0 ready@readiness#3" {
		t.Errorf("events %s", got)
	}
	if gotCmd.Load() != "supervisorctl ready" {
		t.Errorf("exec ran %v", gotCmd.Load())
	}
}

// A named port the target does not map is a failing attempt that says
// so, not a crash.
func TestRun_unknownNamedPort(t *testing.T) {
	tg := Target{Host: "127.0.0.1"}
	p := &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("web")}},
		PeriodSeconds:    1,
		FailureThreshold: 1,
	}
	events, err := run(t, Probes{Startup: p}, tg, func([]Event) bool { return false })
	if !errors.Is(err, ErrDead) || len(events) != 1 || !strings.Contains(events[0].Reason, `port "web" is not in the target's ports`) {
		t.Fatalf("Run = %v, events %v", err, events)
	}
}
