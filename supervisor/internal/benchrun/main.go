// Command benchrun is the timing half of scripts/bench: it runs the same
// scenarios against our supervisord and Debian's Python supervisord,
// alternating them, and prints a Markdown table of min/median/max and the
// ours/Python ratio of the medians, with PASS/MISS per target.
//
// Every daemon runs in the foreground (-n) in its own process group, with
// GPUDESK_BENCH_ID=<id> in its environment, which its children inherit: on
// SIGINT/SIGTERM/SIGHUP, and after every daemon's exit, every process that
// carries the marker is killed, so nothing outlives a run (scripts/bench
// does the same sweep once more when benchrun itself is gone).
//
// All timing and polling is done here, over the XML-RPC unix socket, with
// the same code for both daemons.
//
//	benchrun -ours bin/supervisord -ours-ctl bin/supervisorctl \
//	    -py /usr/bin/supervisord -py-ctl /usr/bin/supervisorctl [-runs 5] ...
//	benchrun write BYTES K   (the log-capture child: BYTES of 100-byte lines,
//	                          K lines per write(2), then sleeps until stopped)
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gpudesk/runtime/supervisor/xmlrpc"
)

// markerEnv is set in every daemon's environment; children inherit it.
const markerEnv = "GPUDESK_BENCH_ID"

// clkTck is USER_HZ, the unit of utime/stime in /proc/PID/stat (100 on
// every Linux architecture Go supports).
const clkTck = 100

type impl struct {
	key    string // "ours" or "py"
	daemon string
	ctl    string // "" when there is no supervisorctl to measure
}

type options struct {
	ours, oursCtl, py, pyCtl string
	runs                     int
	ns                       []int
	idle, settle             time.Duration
	calls                    int
	logBytes, logMax         int64
	logBackups               int
	logPer                   []int // lines per write(2); the first is judged
	logChildren              []int // chatty children at once, sharing logBytes
	workdir, id, cmdline     string
	ctlNote                  string
	self                     string
	readyAddr                string // -ready-checks: what the checks dial (see ready.go)
}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "write" {
		os.Exit(writeLines(os.Args[2:]))
	}
	var o options
	var ns string
	flag.StringVar(&o.ours, "ours", "bin/supervisord", "our supervisord")
	flag.StringVar(&o.oursCtl, "ours-ctl", "", "our supervisorctl (empty: not measured, a TODO row)")
	flag.StringVar(&o.py, "py", "/usr/bin/supervisord", "Python's supervisord")
	flag.StringVar(&o.pyCtl, "py-ctl", "/usr/bin/supervisorctl", "Python's supervisorctl")
	flag.IntVar(&o.runs, "runs", 5, "runs of every scenario per daemon")
	flag.StringVar(&ns, "n", "200,1000", "numbers of programs, comma-separated; targets are judged at the largest")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "idle window")
	flag.DurationVar(&o.settle, "settle", 2*time.Second, "wait after all RUNNING before the idle window")
	flag.IntVar(&o.calls, "calls", 30, "getAllProcessInfo calls per daemon lifetime")
	flag.Int64Var(&o.logBytes, "log-bytes", 200_000_000, "bytes the log-capture child writes")
	flag.Int64Var(&o.logMax, "log-maxbytes", 50_000_000, "stdout_logfile_maxbytes of the log-capture child")
	flag.IntVar(&o.logBackups, "log-backups", 10, "stdout_logfile_backups of the log-capture child")
	per := flag.String("log-lines-per-write", "1,40", "100-byte lines per write(2) of the log-capture child, comma-separated; the target is judged on the first")
	kids := flag.String("log-children", "1,100", "log-capture children writing at once (they share -log-bytes and -log-maxbytes), comma-separated")
	flag.StringVar(&o.workdir, "workdir", "", "scratch folder (default: a new one in $TMPDIR, removed at the end)")
	flag.StringVar(&o.id, "id", "", "marker value for "+markerEnv+" (default: random)")
	flag.StringVar(&o.cmdline, "cmdline", "", "command line to print in the report")
	flag.StringVar(&o.ctlNote, "ctl-note", "", "why our supervisorctl is not measured (printed in its TODO row)")
	readyChecks := flag.Bool("ready-checks", false, "give every sleeping program ready=tcp:ADDR (ADDR: a listener of benchrun's); Python ignores it")
	flag.Parse()
	if *readyChecks {
		addr, err := readyListener()
		if err != nil {
			fatalf("%v", err)
		}
		o.readyAddr = addr
	}
	for _, f := range strings.Split(ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fatalf("bad -n %q", ns)
		}
		o.ns = append(o.ns, n)
	}
	sort.Ints(o.ns)
	for _, f := range strings.Split(*per, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fatalf("bad -log-lines-per-write %q", *per)
		}
		o.logPer = append(o.logPer, n)
	}
	for _, f := range strings.Split(*kids, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 999 {
			fatalf("bad -log-children %q (1 to 999, comma-separated)", *kids)
		}
		o.logChildren = append(o.logChildren, n)
	}
	if o.runs < 1 || o.calls < 1 || o.logBytes < 100 || o.idle <= 0 {
		fatalf("bad -runs, -calls, -log-bytes or -idle")
	}
	if o.id == "" {
		o.id = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	o.self = self
	for _, p := range []*string{&o.ours, &o.oursCtl, &o.py, &o.pyCtl} {
		if *p == "" {
			continue
		}
		abs, err := exec.LookPath(*p)
		if err == nil {
			abs, err = filepath.Abs(abs)
		}
		if err != nil {
			fatalf("%v", err)
		}
		*p = abs
	}
	removeWork := false
	if o.workdir == "" {
		o.workdir, err = os.MkdirTemp("", "gpudesk-bench.")
		if err != nil {
			fatalf("%v", err)
		}
		removeWork = true
	}
	if o.workdir, err = filepath.Abs(o.workdir); err != nil {
		fatalf("%v", err)
	}
	os.Setenv(markerEnv, o.id)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nbenchrun: %v: stopping every daemon and child\n", s)
		cleanupAll()
		if removeWork {
			os.RemoveAll(o.workdir)
		}
		os.Exit(130)
	}()

	b := &bench{o: o, res: map[string]map[string][]float64{}, loadAvg: loadAvg()}
	err = b.run()
	cleanupAll()
	if removeWork {
		os.RemoveAll(o.workdir)
	}
	if err != nil {
		fatalf("%v", err)
	}
	b.report(os.Stdout)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchrun: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// ---- the log-capture child ----

func writeLines(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchrun write BYTES LINES-PER-WRITE")
		return 2
	}
	total, err1 := strconv.ParseInt(args[0], 10, 64)
	per, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil || total < 0 || per < 1 {
		fmt.Fprintln(os.Stderr, "benchrun write: bad BYTES or LINES-PER-WRITE")
		return 2
	}
	line := bytes.Repeat([]byte("x"), 99)
	line = append(line, '\n')
	block := bytes.Repeat(line, per)
	for total > 0 {
		p := block
		if int64(len(p)) > total {
			p = p[:total]
		}
		n, err := os.Stdout.Write(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchrun write:", err)
			return 1
		}
		total -= int64(n)
	}
	// Stay alive until stopped: a child reaped during the measurement
	// would add its own I/O counts to the daemon's /proc/PID/io.
	time.Sleep(time.Hour)
	return 0
}

// ---- daemons ----

var (
	liveMu   sync.Mutex
	live     = map[*daemon]bool{}
	stopping bool // set by cleanupAll: no daemon starts after it
)

type daemon struct {
	impl   impl
	dir    string
	conf   string
	sock   string
	cmd    *exec.Cmd
	done   chan struct{}
	client *xmlrpc.Client
	hc     *http.Client
	start  time.Time
}

// startDaemon execs the daemon on conf in the foreground, in its own
// process group.
func startDaemon(im impl, dir, conf string) (*daemon, error) {
	out, err := os.Create(filepath.Join(dir, "daemon.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	d := &daemon{impl: im, dir: dir, conf: conf, sock: filepath.Join(dir, "sock"), done: make(chan struct{})}
	d.cmd = exec.Command(im.daemon, "-n", "-c", conf)
	d.cmd.Stdout, d.cmd.Stderr = out, out
	d.cmd.Dir = dir
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if d.client, err = xmlrpc.NewClient("unix://"+d.sock, "", ""); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	d.hc = &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", d.sock)
		},
	}}
	liveMu.Lock()
	defer liveMu.Unlock()
	if stopping {
		return nil, errors.New("interrupted")
	}
	d.start = time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	live[d] = true
	go func() { d.cmd.Wait(); close(d.done) }()
	return d, nil
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for the exit; after timeout, SIGKILL. It
// returns how long the exit took after SIGTERM and whether it came in time.
func (d *daemon) stop(timeout time.Duration) (time.Duration, bool) {
	t0 := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	ok := true
	select {
	case <-d.done:
	case <-time.After(timeout):
		ok = false
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
	}
	el := time.Since(t0)
	liveMu.Lock()
	delete(live, d)
	liveMu.Unlock()
	d.hc.CloseIdleConnections()
	return el, ok
}

// cleanupAll stops every live daemon and kills every marked process.
func cleanupAll() {
	liveMu.Lock()
	stopping = true
	ds := make([]*daemon, 0, len(live))
	for d := range live {
		ds = append(ds, d)
	}
	liveMu.Unlock()
	for _, d := range ds {
		d.stop(10 * time.Second)
	}
	killMarked()
}

// markedPids lists the processes (other than this one) whose environment
// carries our marker.
func markedPids() []int {
	want := []byte(markerEnv + "=" + os.Getenv(markerEnv) + "\x00")
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		if bytes.HasPrefix(env, want) || bytes.Contains(env, append([]byte{0}, want...)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killMarked SIGKILLs every marked process and returns how many there were.
func killMarked() int {
	n := 0
	for range 5 {
		pids := markedPids()
		if len(pids) == 0 {
			break
		}
		n = max(n, len(pids))
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// call makes one XML-RPC call with a deadline.
func (d *daemon) call(timeout time.Duration, method string, params ...any) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.client.Call(ctx, method, params...)
}

// waitRunning polls getAllProcessInfo until n processes are RUNNING and
// returns the time from the daemon's exec to the last byte of the response
// that said so. It polls 10 ms after each answer, and reads the states
// from the raw response (countRunningRaw) rather than decoding it: on a
// 2-core machine the client's decoding of a 1,000-process answer takes
// CPU the daemon's children need, and its time is not the daemon's.
// Answering is part of the cost: a call waits while the daemon's loop is
// busy (ours while it spawns, Python's always), and Python answers each
// poll from its one event loop (~0.6 s at N=1000), which delays its own
// start-up; the log-based figure (nthSuccess) shows when the daemon itself
// saw the last RUNNING.
func (d *daemon) waitRunning(n int, limit time.Duration) (time.Duration, error) {
	deadline := d.start.Add(limit)
	last := "no answer"
	for time.Now().Before(deadline) {
		if d.exited() {
			return 0, fmt.Errorf("%s supervisord exited during start-up (see %s)", d.impl.key, filepath.Join(d.dir, "daemon.out"))
		}
		_, body, err := d.rawCall("supervisor.getAllProcessInfo")
		at := time.Since(d.start)
		if err == nil {
			running, total, cerr := countRunningRaw(body)
			switch {
			case cerr != nil:
				last = cerr.Error()
			case running == n && total == n:
				return at, nil
			default:
				last = fmt.Sprintf("%d/%d RUNNING", running, total)
			}
		} else {
			last = err.Error()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s supervisord: not all %d processes RUNNING after %v (last: %s)", d.impl.key, n, limit, last)
}

// countRunningRaw counts the statename members of a getAllProcessInfo
// response, and those that are RUNNING, without decoding the XML: after
// each <name>statename</name>, the text of its <value> (a <string> or a
// bare value), whatever the whitespace between the elements.
func countRunningRaw(body []byte) (running, total int, err error) {
	if bytes.Contains(body, []byte("<fault>")) {
		return 0, 0, fmt.Errorf("getAllProcessInfo: a fault: %.300s", body)
	}
	key := []byte("<name>statename</name>")
	for {
		i := bytes.Index(body, key)
		if i < 0 {
			return running, total, nil
		}
		body = body[i+len(key):]
		j := bytes.Index(body, []byte("<value>"))
		k := bytes.Index(body, []byte("</value>"))
		if j < 0 || k < j {
			return running, total, fmt.Errorf("getAllProcessInfo: a statename without a value")
		}
		v := bytes.TrimSpace(body[j+len("<value>") : k])
		v = bytes.TrimPrefix(v, []byte("<string>"))
		v = bytes.TrimSuffix(v, []byte("</string>"))
		total++
		if string(v) == "RUNNING" {
			running++
		}
		body = body[k:]
	}
}

// nthSuccess returns the time of the n-th "success: … entered RUNNING
// state" line of a daemon log (both daemons write Python's format, with
// milliseconds, in local time).
func nthSuccess(path string, n int) (time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, err
	}
	k := 0
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.Contains(l, " INFO success: ") || len(l) < 23 {
			continue
		}
		if k++; k == n {
			return time.ParseInLocation("2006-01-02 15:04:05,000", l[:23], time.Local)
		}
	}
	return time.Time{}, fmt.Errorf("%d success lines in %s, want %d", k, path, n)
}

func countRunning(res any) (running, total int) {
	list, _ := res.([]any)
	for _, it := range list {
		m, _ := it.(map[string]any)
		if m["statename"] == "RUNNING" {
			running++
		}
	}
	return running, len(list)
}

// rawCall times one XML-RPC call from the request to the last byte of the
// response (the client's decoding is left out) and returns the body.
func (d *daemon) rawCall(method string) (time.Duration, []byte, error) {
	var body bytes.Buffer
	if err := xmlrpc.EncodeCall(&body, method); err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://localhost/RPC2", &body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	t0 := time.Now()
	resp, err := d.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	data, err := io.ReadAll(resp.Body)
	el := time.Since(t0)
	resp.Body.Close()
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("%s: HTTP %s", method, resp.Status)
	}
	return el, data, nil
}

// cpuSeconds returns the CPU seconds pid has run, every thread: the sum
// of /proc/PID/task/*/schedstat (nanoseconds, from the scheduler) where
// the kernel has it, else utime+stime (clock ticks, 10 ms each: too coarse
// for the 0.1 s a daemon spends capturing 200 MB).
func cpuSeconds(pid int) (float64, error) {
	if s, err := schedSeconds(pid); err == nil {
		return s, nil
	}
	return tickSeconds(pid)
}

// schedSeconds sums the run time of pid's threads. A thread that ended
// meanwhile takes its time with it; Go's threads live as long as the
// daemon.
func schedSeconds(pid int) (float64, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no schedstat for pid %d", pid)
	}
	var sum float64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		v, err := parseSchedstat(data, f)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// parseSchedstat returns the run time, in seconds, of a schedstat file's
// contents (its first field, in nanoseconds).
func parseSchedstat(data []byte, name string) (float64, error) {
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0, fmt.Errorf("bad %s", name)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad %s", name)
	}
	return float64(ns) / 1e9, nil
}

// tickSeconds returns utime+stime of pid.
func tickSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return float64(u+s) / clkTck, nil
}

// syscallCounts returns the read and write system calls of pid so far
// (syscr, syscw of /proc/PID/io: every thread, counted by the kernel).
func syscallCounts(pid int) (r, w int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(l, ":")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			r = n
		case "syscw":
			w = n
		}
	}
	return r, w, nil
}

// statusKB returns a "Vm…: N kB" field of /proc/PID/status in kB.
func statusKB(pid int, field string) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// ---- configurations ----

func header(dir string, n int) string {
	return fmt.Sprintf(`[unix_http_server]
file=%[1]s/sock

[supervisord]
nodaemon=true
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s
minfds=%[2]d
minprocs=%[3]d

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[1]s/sock
`, dir, max(1024, 8*n+512), max(200, 2*n+512))
}

// progName is the name of the i-th of the sleeping programs.
func progName(i int) string { return fmt.Sprintf("p%04d", i) }

func sleepersConf(dir string, n int, readyAddr string) string {
	var b strings.Builder
	b.WriteString(header(dir, n))
	for i := range n {
		fmt.Fprintf(&b, `
[program:%s]
command=/bin/sleep 3600
startsecs=0
autorestart=false
stdout_logfile=NONE
stderr_logfile=NONE
%s`, progName(i), readyLine(readyAddr))
	}
	return b.String()
}

func writerConf(dir string, o options, per, kids int) string {
	if kids == 1 {
		return header(dir, 1) + fmt.Sprintf(`
[program:writer]
command=%s write %d %d
autostart=false
startsecs=0
autorestart=false
stdout_logfile=%s/writer.log
stdout_logfile_maxbytes=%d
stdout_logfile_backups=%d
stderr_logfile=NONE
`, o.self, o.logBytes, per, dir, o.logMax, o.logBackups)
	}
	// kids programs in one group, started by one startProcessGroup; each
	// writes its share of the bytes into its own log, rotated at its share
	// of maxbytes.
	var b strings.Builder
	names := make([]string, kids)
	for i := range names {
		names[i] = writerName(i)
	}
	fmt.Fprintf(&b, "%s\n[group:writers]\nprograms=%s\n", header(dir, kids), strings.Join(names, ","))
	for _, name := range names {
		fmt.Fprintf(&b, `
[program:%s]
command=%s write %d %d
autostart=false
startsecs=0
autorestart=false
stdout_logfile=%s/%s.log
stdout_logfile_maxbytes=%d
stdout_logfile_backups=%d
stderr_logfile=NONE
`, name, o.self, o.logBytes/int64(kids), per, dir, name, max(o.logMax/int64(kids), 1<<20), o.logBackups)
	}
	return b.String()
}

func writerName(i int) string { return fmt.Sprintf("w%03d", i) }

// capKey is a log-capture metric's key: "logcpu/1" for one child writing
// 100-byte lines one per write(2), "logcpu/1/x100" for 100 such children.
func capKey(metric string, per, kids int) string {
	if kids == 1 {
		return fmt.Sprintf("%s/%d", metric, per)
	}
	return fmt.Sprintf("%s/%d/x%d", metric, per, kids)
}

// ---- the scenarios ----

type bench struct {
	o       options
	loadAvg string                          // /proc/loadavg at the start
	res     map[string]map[string][]float64 // metric → impl key → samples
	notes   []string
}

func (b *bench) add(metric, key string, v float64) {
	logf("    %-16s %-4s %.4g", metric, key, v)
	if b.res[metric] == nil {
		b.res[metric] = map[string][]float64{}
	}
	b.res[metric][key] = append(b.res[metric][key], v)
}

func (b *bench) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	for _, n := range b.notes {
		if n == s {
			return
		}
	}
	b.notes = append(b.notes, s)
	logf("NOTE: %s", s)
}

func (b *bench) impls() [2]impl {
	return [2]impl{
		{key: "ours", daemon: b.o.ours, ctl: b.o.oursCtl},
		{key: "py", daemon: b.o.py, ctl: b.o.pyCtl},
	}
}

func (b *bench) run() error {
	ims := b.impls()
	if b.o.readyAddr != "" {
		b.note("-ready-checks: every program carries ready=tcp:%s; ours checks each every ready_interval (10 s), Python ignores the option", b.o.readyAddr)
	}
	for r := range b.o.runs {
		// Alternate which daemon goes first: ours, Python; Python, ours; …
		order := []impl{ims[0], ims[1]}
		if r%2 == 1 {
			order = []impl{ims[1], ims[0]}
		}
		for _, n := range b.o.ns {
			for _, im := range order {
				if err := b.sleepers(r, n, im); err != nil {
					return err
				}
			}
			if err := b.startReference(r, n); err != nil {
				return err
			}
		}
		for _, per := range b.o.logPer {
			if err := b.logReference(r, per); err != nil {
				return err
			}
			for _, kids := range b.o.logChildren {
				for _, im := range order {
					if err := b.logCapture(r, im, per, kids); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// emptyFiles truncates the files of a log-capture run to nothing instead
// of removing them: they go with the work folder when the benchmark ends.
// On an ext4 without a journal (the development VM's), every new file's
// inode is checked against the inodes deleted in the last 30 s, one
// inode-table lookup each; with each run's few hundred log files deleted
// just before the next run created as many, that check was half of either
// daemon's CPU with 100 children (profiled: find_inode_bit,
// recently_deleted), a cost of the benchmark's churn and not of capture.
// Truncating frees the data and keeps the inodes allocated.
func emptyFiles(dir string) {
	filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			os.Truncate(path, 0)
		}
		return nil
	})
}

func (b *bench) scratch(name string) (string, error) {
	dir := filepath.Join(b.o.workdir, name)
	os.RemoveAll(dir)
	return dir, os.MkdirAll(dir, 0o755)
}

func (b *bench) sleepers(r, n int, im impl) error {
	dir, err := b.scratch(fmt.Sprintf("%s-%d", im.key, n))
	if err != nil {
		return err
	}
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(sleepersConf(dir, n, b.o.readyAddr)), 0o644); err != nil {
		return err
	}
	logf("run %d/%d  N=%-5d %-4s start-up", r+1, b.o.runs, n, im.key)
	d, err := startDaemon(im, dir, conf)
	if err != nil {
		return fmt.Errorf("starting %s: %w", im.daemon, err)
	}
	defer d.stop(10 * time.Second)
	up, err := d.waitRunning(n, 5*time.Minute)
	if err != nil {
		return err
	}
	b.add(fmt.Sprintf("startup/%d", n), im.key, up.Seconds())
	if at, err := nthSuccess(filepath.Join(dir, "supervisord.log"), n); err != nil {
		b.note("%s start-up from the log: %v", im.key, err)
	} else {
		b.add(fmt.Sprintf("startuplog/%d", n), im.key, at.Sub(d.start).Seconds())
	}

	// Idle: CPU over the window, RSS at its end.
	time.Sleep(b.o.settle)
	c0, err := cpuSeconds(d.pid())
	if err != nil {
		return err
	}
	time.Sleep(b.o.idle)
	c1, err := cpuSeconds(d.pid())
	if err != nil {
		return err
	}
	rss, err := statusKB(d.pid(), "VmRSS")
	if err != nil {
		return err
	}
	b.add(fmt.Sprintf("idlecpu/%d", n), im.key, (c1-c0)*10/b.o.idle.Seconds())
	b.add(fmt.Sprintf("rss/%d", n), im.key, rss/1024)

	// getAllProcessInfo latency.
	var lat []float64
	var body []byte
	for range b.o.calls {
		el, data, err := d.rawCall("supervisor.getAllProcessInfo")
		if err != nil {
			return fmt.Errorf("%s getAllProcessInfo: %w", im.key, err)
		}
		lat = append(lat, el.Seconds()*1000)
		body = data
	}
	res, err := xmlrpc.DecodeResponse(bytes.NewReader(body), xmlrpc.Limits{MaxBytes: 256 << 20, MaxItems: 1 << 24})
	if err != nil {
		return fmt.Errorf("%s getAllProcessInfo response: %w", im.key, err)
	}
	if running, total := countRunning(res); running != n || total != n {
		return fmt.Errorf("%s getAllProcessInfo: %d/%d RUNNING, want %d", im.key, running, total, n)
	}
	b.add(fmt.Sprintf("gapi/%d", n), im.key, median(lat))

	// supervisorctl status and restart, each ctl against its own daemon.
	if im.ctl != "" {
		el, out, err := runCtl(im.ctl, conf, "status")
		if err != nil {
			return fmt.Errorf("%s supervisorctl status: %v\n%s", im.key, err, out)
		}
		if got := strings.Count(out, "RUNNING"); got != n {
			return fmt.Errorf("%s supervisorctl status: %d lines RUNNING, want %d:\n%.2000s", im.key, got, n, out)
		}
		b.add(fmt.Sprintf("ctlstatus/%d", n), im.key, el.Seconds())

		name := progName(n / 2)
		el, out, err = runCtl(im.ctl, conf, "restart", name)
		if err != nil || !strings.Contains(out, name+": started") {
			return fmt.Errorf("%s supervisorctl restart %s: %v\n%s", im.key, name, err, out)
		}
		b.add(fmt.Sprintf("ctlrestart/%d", n), im.key, el.Seconds())
		// The restarted process must be RUNNING again before shutdown.
		if _, err := d.waitRunning(n, time.Since(d.start)+time.Minute); err != nil {
			return err
		}
	}

	// Shutdown.
	el, ok := d.stop(5 * time.Minute)
	if !ok {
		return fmt.Errorf("%s supervisord did not exit within 5 min of SIGTERM", im.key)
	}
	b.add(fmt.Sprintf("shutdown/%d", n), im.key, el.Seconds())
	b.checkLeftovers(im, n)
	return nil
}

// checkLeftovers notes (and kills) children left running after a daemon's
// exit: a bug, since both stop every process before exiting.
func (b *bench) checkLeftovers(im impl, n int) {
	time.Sleep(20 * time.Millisecond)
	if k := killMarked(); k > 0 {
		b.note("%s supervisord left %d processes running after its exit (N=%d); killed", im.key, k, n)
	}
}

func runCtl(ctl, conf string, args ...string) (time.Duration, string, error) {
	cmd := exec.Command(ctl, append([]string{"-c", conf}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C is benchrun's to handle
	t0 := time.Now()
	err := cmd.Run()
	el := time.Since(t0)
	var ee *exec.ExitError
	if errors.As(err, &ee) && args[0] == "status" {
		err = nil // status exits non-zero when a process is not RUNNING; the count decides
	}
	return el, out.String(), err
}

func (b *bench) logCapture(r int, im impl, per, kids int) error {
	dir, err := b.scratch(fmt.Sprintf("%s-log-%d-%d-%d", im.key, per, kids, r))
	if err != nil {
		return err
	}
	defer emptyFiles(dir)
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(writerConf(dir, b.o, per, kids)), 0o644); err != nil {
		return err
	}
	logf("run %d/%d  log capture %-4s %g MB, %d-byte writes, %d children", r+1, b.o.runs, im.key, float64(b.o.logBytes)/1e6, 100*per, kids)
	d, err := startDaemon(im, dir, conf)
	if err != nil {
		return fmt.Errorf("starting %s: %w", im.daemon, err)
	}
	defer d.stop(10 * time.Second)
	if err := waitSocket(d); err != nil {
		return err
	}
	time.Sleep(b.o.settle / 2)
	logs := []string{"writer"}
	total := b.o.logBytes
	if kids > 1 {
		logs = logs[:0]
		for i := range kids {
			logs = append(logs, writerName(i))
		}
		total = int64(kids) * (b.o.logBytes / int64(kids))
	}
	var files []string
	for _, name := range logs {
		f := filepath.Join(dir, name+".log")
		files = append(files, f)
		for i := 1; i <= b.o.logBackups; i++ {
			files = append(files, fmt.Sprintf("%s.%d", f, i))
		}
	}
	if err := warmPageCache(dir, total); err != nil {
		return err
	}
	c0, err := cpuSeconds(d.pid())
	if err != nil {
		return err
	}
	r0, w0, err := syscallCounts(d.pid())
	if err != nil {
		return err
	}
	t0 := time.Now()
	if kids == 1 {
		if _, err := d.call(time.Minute, "supervisor.startProcess", "writer", false); err != nil {
			return fmt.Errorf("%s startProcess writer: %w", im.key, err)
		}
	} else if _, err := d.call(time.Minute, "supervisor.startProcessGroup", "writers", false); err != nil {
		return fmt.Errorf("%s startProcessGroup writers: %w", im.key, err)
	}
	deadline := t0.Add(10 * time.Minute)
	var got int64
	for {
		got = 0
		for _, f := range files {
			if st, err := os.Stat(f); err == nil {
				got += st.Size()
			}
		}
		if got >= total {
			break
		}
		if time.Now().After(deadline) || d.exited() {
			return fmt.Errorf("%s log capture: %d of %d bytes on disk after %v", im.key, got, total, time.Since(t0).Round(time.Millisecond))
		}
		time.Sleep(5 * time.Millisecond)
	}
	el := time.Since(t0)
	c1, err := cpuSeconds(d.pid())
	if err != nil {
		return err
	}
	r1, w1, err := syscallCounts(d.pid())
	if err != nil {
		return err
	}
	if got != total {
		b.note("%s log capture: %d bytes on disk, %d written", im.key, got, total)
	}
	mb := float64(total) / 1e6
	b.add(capKey("logmbps", per, kids), im.key, mb/el.Seconds())
	b.add(capKey("logcpu", per, kids), im.key, c1-c0)
	b.add(capKey("logcpupermb", per, kids), im.key, (c1-c0)/mb)
	b.add(capKey("logsyscr", per, kids), im.key, float64(r1-r0)/mb)
	b.add(capKey("logsyscw", per, kids), im.key, float64(w1-w0)/mb)
	if _, ok := d.stop(time.Minute); !ok {
		b.note("%s supervisord did not exit within 1 min of SIGTERM after log capture", im.key)
	}
	b.checkLeftovers(im, kids)
	return nil
}

// logReference measures the same child writing into a pipe that this
// program reads in a plain loop of 64 KiB reads and discards: what an
// eager reader (one that reads as soon as anything arrives, as a goroutine
// blocked in Read does) gets without any daemon around it.
func (b *bench) logReference(r, per int) error {
	logf("run %d/%d  log reference (no daemon), %d-byte writes", r+1, b.o.runs, 100*per)
	dir, err := b.scratch(fmt.Sprintf("ref-log-%d-%d", per, r))
	if err != nil {
		return err
	}
	defer emptyFiles(dir)
	out, err := os.OpenFile(filepath.Join(dir, "writer.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return err
	}
	rd, wr := os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1")
	defer rd.Close()
	if err := warmPageCache(dir, b.o.logBytes); err != nil {
		wr.Close()
		return err
	}
	syscall.Syscall(syscall.SYS_FCNTL, uintptr(p[0]), 1031 /* F_SETPIPE_SZ */, 1<<20)
	cmd := exec.Command(b.o.self, "write", strconv.FormatInt(b.o.logBytes, 10), strconv.Itoa(per))
	cmd.Stdout = wr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The reader runs on a thread of its own, whose run time is its CPU.
	type result struct {
		n   int64
		cpu float64
		el  time.Duration
		err error
	}
	done := make(chan result, 1)
	start := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		stat := fmt.Sprintf("/proc/self/task/%d/schedstat", syscall.Gettid())
		c0, err := threadSeconds(stat)
		if err != nil {
			done <- result{err: err}
			return
		}
		<-start
		t0 := time.Now()
		n, err := refCopy(p[0], int(out.Fd()), b.o.logBytes)
		el := time.Since(t0)
		c1, cerr := threadSeconds(stat)
		done <- result{n: n, cpu: c1 - c0, el: el, err: errors.Join(err, cerr)}
	}()
	if err := cmd.Start(); err != nil {
		close(start)
		<-done
		return err
	}
	wr.Close()
	close(start)
	res := <-done
	cmd.Process.Kill()
	cmd.Wait()
	if res.err != nil || res.n != b.o.logBytes {
		return fmt.Errorf("log reference: read %d of %d bytes: %v", res.n, b.o.logBytes, res.err)
	}
	mb := float64(res.n) / 1e6
	b.add(fmt.Sprintf("logmbps/%d", per), "ref", mb/res.el.Seconds())
	b.add(fmt.Sprintf("logcpupermb/%d", per), "ref", res.cpu/mb)
	return nil
}

// refCopy is the reference reader: blocking reads of up to 1 MiB from the
// pipe, each written to the file, and after a read that did not take half
// the pipe a 1 ms pause to let it fill (fewer, larger reads: the cheapest
// pattern found on the development VM, with splice(2) no cheaper).
func refCopy(from, to int, total int64) (int64, error) {
	buf := make([]byte, 1<<20)
	var got int64
	for got < total {
		n, err := syscall.Read(from, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return got, err
		}
		for w := 0; w < n; {
			m, err := syscall.Write(to, buf[w:n])
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return got, err
			}
			w += m
		}
		got += int64(n)
		if n < len(buf)/2 {
			time.Sleep(time.Millisecond)
		}
	}
	return got, nil
}

// warmPageCache writes n bytes (and 16 MiB more) into a file in dir and
// removes it, just before a log capture is measured, so that the page
// cache the capture writes into is memory the machine has recently used.
// On a virtual machine the hypervisor takes back guest memory that stays
// free for a few seconds (free page reporting), and the first write into
// such a page then costs a host fault: on the development VM 200 MB into
// a new file cost 0.6–0.7 s of system time cold and 0.05 s warm (dd), an
// amount that varies from run to run with what was freed when and is
// charged to whichever process copies into the page, both daemons alike.
// Warmed, the figures are the daemons' own cost plus the kernel's copy, as
// on a machine whose memory is not taken back (bare metal, most GPU
// hosts).
func warmPageCache(dir string, n int64) error {
	path := filepath.Join(dir, "page-cache-warm-up")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("page cache warm-up: %w", err)
	}
	defer os.Remove(path)
	buf := make([]byte, 1<<20)
	for left := n + 16<<20; left > 0; left -= int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return fmt.Errorf("page cache warm-up: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("page cache warm-up: %w", err)
	}
	return os.Remove(path)
}

// threadSeconds reads a thread's run time from its schedstat file.
func threadSeconds(path string) (float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseSchedstat(data, path)
}

// startReference times what start-up costs with no daemon: n forks and
// execs of /bin/sleep 3600 in a plain Go loop, each child with a stdin pipe
// (the write end kept, as a daemon keeps it), stdout and stderr on
// /dev/null and its own process group, as both daemons spawn them. The
// children are killed and reaped after.
func (b *bench) startReference(r, n int) error {
	logf("run %d/%d  N=%-5d start-up reference (no daemon)", r+1, b.o.runs, n)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	pids := make([]int, 0, n)
	keep := make([]int, 0, n)
	defer func() {
		for _, pid := range pids {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
		for _, pid := range pids {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
		for _, fd := range keep {
			syscall.Close(fd)
		}
	}()
	argv := []string{"/bin/sleep", "3600"}
	env := os.Environ()
	t0 := time.Now()
	for range n {
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			return fmt.Errorf("start-up reference: %w", err)
		}
		pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Env: env,
			Files: []uintptr{uintptr(p[0]), null.Fd(), null.Fd()}, Sys: &syscall.SysProcAttr{Setpgid: true}})
		syscall.Close(p[0])
		keep = append(keep, p[1])
		if err != nil {
			return fmt.Errorf("start-up reference: %w", err)
		}
		pids = append(pids, pid)
	}
	b.add(fmt.Sprintf("startup/%d", n), "ref", time.Since(t0).Seconds())
	return nil
}

// waitSocket waits until the daemon answers supervisor.getState.
func waitSocket(d *daemon) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if d.exited() {
			return fmt.Errorf("%s supervisord exited during start-up (see %s)", d.impl.key, filepath.Join(d.dir, "daemon.out"))
		}
		if _, err := d.call(10*time.Second, "supervisor.getState"); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s supervisord: no answer on %s after 1 min", d.impl.key, d.sock)
}

// ---- the report ----

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func minMax(xs []float64) (float64, float64) {
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

type row struct {
	metric, label, unit, format string
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func (b *bench) stat(metric, key string) (lo, med, hi float64, ok bool) {
	xs := b.res[metric][key]
	if len(xs) == 0 {
		return 0, 0, 0, false
	}
	lo, hi = minMax(xs)
	return lo, median(xs), hi, true
}

func (b *bench) report(w io.Writer) {
	o := b.o
	fmt.Fprintf(w, "date: %s  \n", time.Now().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine: %d cores (nproc), %s, %s/%s  \n", runtime.NumCPU(), cpuModel(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "load average (1, 5, 15 min) at the start: %s; at the end: %s  \n", b.loadAvg, loadAvg())
	if o.cmdline != "" {
		fmt.Fprintf(w, "command: `%s`  \n", o.cmdline)
	}
	fmt.Fprintf(w, "ours: %s; Python: %s (%s); %d runs each, alternating; idle window %v; %d getAllProcessInfo calls per daemon; log capture %g MB of 100-byte lines, maxbytes %g MB, %d backups\n\n",
		o.ours, o.py, pyVersion(o.py), o.runs, o.idle, o.calls, float64(o.logBytes)/1e6, float64(o.logMax)/1e6, o.logBackups)

	var rows []row
	for _, n := range o.ns {
		rows = append(rows,
			row{fmt.Sprintf("startup/%d", n), fmt.Sprintf("start-up, exec → all RUNNING (polled), N=%d", n), "s", "%.3f"},
			row{fmt.Sprintf("startuplog/%d", n), fmt.Sprintf("start-up, exec → N-th `success:` in the daemon log, N=%d", n), "s", "%.3f"},
			row{fmt.Sprintf("rss/%d", n), fmt.Sprintf("idle RSS, N=%d", n), "MiB", "%.1f"},
			row{fmt.Sprintf("idlecpu/%d", n), fmt.Sprintf("idle CPU per 10 s, N=%d", n), "s", "%.2f"},
			row{fmt.Sprintf("gapi/%d", n), fmt.Sprintf("getAllProcessInfo (median of %d), N=%d", o.calls, n), "ms", "%.2f"},
			row{fmt.Sprintf("ctlstatus/%d", n), fmt.Sprintf("supervisorctl status, N=%d", n), "s", "%.3f"},
			row{fmt.Sprintf("ctlrestart/%d", n), fmt.Sprintf("supervisorctl restart x, N=%d", n), "s", "%.3f"},
			row{fmt.Sprintf("shutdown/%d", n), fmt.Sprintf("shutdown, SIGTERM → exit, N=%d", n), "s", "%.3f"},
		)
	}
	for _, per := range o.logPer {
		for _, kids := range o.logChildren {
			what := fmt.Sprintf("log capture %g MB, %d-byte writes", float64(o.logBytes)/1e6, 100*per)
			if kids > 1 {
				what += fmt.Sprintf(", %d children", kids)
			}
			rows = append(rows,
				row{capKey("logmbps", per, kids), what + ", throughput", "MB/s", "%.1f"},
				row{capKey("logcpu", per, kids), what + ", daemon CPU", "s", "%.2f"},
				row{capKey("logcpupermb", per, kids), what + ", daemon CPU per MB", "ms", "%.3f"},
				row{capKey("logsyscr", per, kids), what + ", daemon read(2)s per MB", "1", "%.0f"},
				row{capKey("logsyscw", per, kids), what + ", daemon write(2)s per MB", "1", "%.0f"},
			)
		}
	}
	fmt.Fprintln(w, "| scenario | unit | ours min / **median** / max | Python min / **median** / max | ours/Python |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		cell := func(key string) string {
			lo, med, hi, ok := b.stat(r.metric, key)
			if !ok {
				return "—"
			}
			scale := 1.0
			if strings.HasPrefix(r.metric, "logcpupermb/") {
				scale = 1000
			}
			f := r.format
			return fmt.Sprintf(f+" / **"+f+"** / "+f, lo*scale, med*scale, hi*scale)
		}
		ours := cell("ours")
		if strings.HasPrefix(r.metric, "ctl") && o.oursCtl == "" {
			ours = "TODO: our supervisorctl not measured"
			if o.ctlNote != "" {
				ours += " (" + o.ctlNote + ")"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.label, r.unit, ours, cell("py"), b.ratioString(r.metric))
	}
	fmt.Fprintln(w)
	for _, n := range o.ns {
		if lo, med, hi, ok := b.stat(fmt.Sprintf("startup/%d", n), "ref"); ok {
			fmt.Fprintf(w, "Reference, no daemon: %d forks and execs of `/bin/sleep 3600` in a plain Go loop (stdin pipe, /dev/null, own process group): %.3f / **%.3f** / %.3f s.  \n", n, lo, med, hi)
		}
	}
	for _, per := range o.logPer {
		if lo, med, hi, ok := b.stat(fmt.Sprintf("logmbps/%d", per), "ref"); ok {
			clo, cmed, chi, _ := b.stat(fmt.Sprintf("logcpupermb/%d", per), "ref")
			fmt.Fprintf(w, "Reference, no daemon: the same child (%d-byte writes) into a 1 MiB pipe read by a plain Go loop into a file (1 MiB reads, 1 ms pause after a short one): %.1f / **%.1f** / %.1f MB/s, reader CPU per MB %.3f / **%.3f** / %.3f ms.  \n", 100*per, lo, med, hi, 1000*clo, 1000*cmed, 1000*chi)
		}
	}
	fmt.Fprintln(w)

	nmax := o.ns[len(o.ns)-1]
	if nmax != 1000 {
		fmt.Fprintf(w, "The targets are set for N=1000 and 200 MB; here they are judged at N=%d and %g MB, so they are indicative only.\n\n", nmax, float64(o.logBytes)/1e6)
	}
	fmt.Fprintf(w, "The floor column is the reference line (the same work, no daemon) over Python's median: a target under it cannot be met on this machine.\n\n")
	fmt.Fprintf(w, "| target (N=%d) | ours/Python | floor/Python | result |\n|---|---|---|---|\n", nmax)
	startRef := fmt.Sprintf("startup/%d", nmax)
	b.target(w, fmt.Sprintf("startup/%d", nmax), "all RUNNING ≤ 0.1×", 0.1, false, startRef)
	b.target(w, fmt.Sprintf("startuplog/%d", nmax), "N-th `success:` ≤ 0.1×", 0.1, false, startRef)
	b.target(w, fmt.Sprintf("gapi/%d", nmax), "getAllProcessInfo ≤ 0.02×", 0.02, false, "")
	if len(o.ns) > 1 {
		n0 := o.ns[0]
		_, m0, _, ok0 := b.stat(fmt.Sprintf("gapi/%d", n0), "ours")
		_, m1, _, ok1 := b.stat(fmt.Sprintf("gapi/%d", nmax), "ours")
		if ok0 && ok1 && m0 > 0 {
			lin := float64(nmax) / float64(n0)
			g := m1 / m0
			fmt.Fprintf(w, "| getAllProcessInfo linear in N: ours N=%d / N=%d = %.2f (N ratio %.1f; ≤ 1.5 × N ratio) | — | — | %s |\n",
				nmax, n0, g, lin, passMiss(g <= 1.5*lin))
		}
	}
	if o.oursCtl != "" {
		b.target(w, fmt.Sprintf("ctlstatus/%d", nmax), "supervisorctl status ≤ 0.1×", 0.1, false, "")
	}
	b.target(w, fmt.Sprintf("rss/%d", nmax), "idle RSS ≤ 0.5×", 0.5, false, "")
	if _, om, _, ok := b.stat(fmt.Sprintf("idlecpu/%d", nmax), "ours"); ok {
		_, pm, _, _ := b.stat(fmt.Sprintf("idlecpu/%d", nmax), "py")
		fmt.Fprintf(w, "| idle CPU no more than Python: ours %.2f s vs Python %.2f s per 10 s (+0.01 s of slack) | %s | — | %s |\n",
			om, pm, b.ratioString(fmt.Sprintf("idlecpu/%d", nmax)), passMiss(om <= pm+0.01))
	}
	p0 := o.logPer[0]
	b.target(w, fmt.Sprintf("logmbps/%d", p0), fmt.Sprintf("log capture MB/s ≥ 3× (%d-byte writes)", 100*p0), 3, true, fmt.Sprintf("logmbps/%d", p0))
	for _, per := range o.logPer {
		for _, kids := range o.logChildren {
			// The reference is one child; it is the floor of the one-child rows.
			ref := ""
			if kids == 1 {
				ref = fmt.Sprintf("logcpupermb/%d", per)
			}
			b.target(w, capKey("logcpupermb", per, kids), fmt.Sprintf("log capture daemon CPU per MB ≤ 0.5× (%d-byte writes, %d children)", 100*per, kids), 0.5, false, ref)
		}
	}
	b.target(w, fmt.Sprintf("shutdown/%d", nmax), "shutdown ≤ 0.3×", 0.3, false, "")
	if len(b.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range b.notes {
			fmt.Fprintf(w, "- note: %s\n", n)
		}
	}
}

func (b *bench) ratio(metric string) (float64, bool) {
	_, om, _, ok1 := b.stat(metric, "ours")
	_, pm, _, ok2 := b.stat(metric, "py")
	if !ok1 || !ok2 || pm == 0 {
		return 0, false
	}
	return om / pm, true
}

func (b *bench) ratioString(metric string) string {
	r, ok := b.ratio(metric)
	if !ok {
		return "—"
	}
	if r < 0.1 {
		return fmt.Sprintf("%.4f", r)
	}
	return fmt.Sprintf("%.2f", r)
}

// target prints a row of the targets table: ours/Python for metric, and
// the floor, the reference's median for ref (none if "") over Python's.
// Ratios get three digits there, so that a MISS is never printed as the
// limit itself.
func (b *bench) target(w io.Writer, metric, what string, limit float64, atLeast bool, ref string) {
	r, ok := b.ratio(metric)
	res, ours := "—", "—"
	if ok {
		ours = fmt.Sprintf("%.3g", r)
		res = passMiss(r <= limit)
		if atLeast {
			res = passMiss(r >= limit)
		}
	}
	floor := "—"
	if ref != "" {
		_, fm, _, ok1 := b.stat(ref, "ref")
		_, pm, _, ok2 := b.stat(metric, "py")
		if ok1 && ok2 && pm > 0 {
			floor = fmt.Sprintf("%.3g", fm/pm)
		}
	}
	fmt.Fprintf(w, "| %s | %s | %s | %s |\n", what, ours, floor, res)
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**MISS**"
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if err != nil || len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func pyVersion(py string) string {
	out, err := exec.Command(py, "--version").Output()
	if err != nil {
		return "version unknown"
	}
	return "supervisor " + strings.TrimSpace(string(out))
}
