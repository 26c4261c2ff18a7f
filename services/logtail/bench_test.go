package logtail

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain runs logtail itself when the benchmark starts this binary as
// a child (LOGTAIL_BENCH_CHILD=1), so that its CPU time is its own.
func TestMain(m *testing.M) {
	if os.Getenv("LOGTAIL_BENCH_CHILD") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		err := Main(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintf(os.Stderr, "logtail: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkFollow10Files writes 10 files at full speed while logtail (a
// child process) and coreutils' `tail -F` follow the same files in the
// same run, and reports for each the lines per second it delivered (from
// the first write to its last line out) and the CPU it used per MB
// written.
//
//	go test -run '^$' -bench Follow10Files -benchtime 3x ./services/logtail/
func BenchmarkFollow10Files(b *testing.B) {
	tailPath, err := exec.LookPath("tail")
	if err != nil {
		b.Fatalf("coreutils' tail is needed for the comparison: %v", err)
	}
	for _, out := range []string{"none", "file"} {
		b.Run("out="+out, func(b *testing.B) { benchFollow(b, tailPath, out == "file") })
	}
}

const (
	benchFiles        = 10
	benchLinesPerFile = 50000
	benchLineLen      = 100
)

// follower is a following process whose output lines are counted.
type follower struct {
	name string
	cmd  *exec.Cmd

	mu     sync.Mutex
	cond   *sync.Cond
	lines  int // payload lines seen
	marked bool
}

func startFollower(b *testing.B, name string, cmd *exec.Cmd) *follower {
	f := &follower{name: name, cmd: cmd}
	f.cond = sync.NewCond(&f.mu)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go f.count(pipe)
	return f
}

func (f *follower) count(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			break
		}
		switch {
		case len(line) > 0 && line[0] == 'L':
			n++
		case string(line) == "ready\n":
			f.mu.Lock()
			f.marked = true
			f.cond.Broadcast()
			f.mu.Unlock()
		}
		if n%1024 == 0 || br.Buffered() == 0 {
			f.mu.Lock()
			f.lines = n
			f.cond.Broadcast()
			f.mu.Unlock()
		}
	}
	f.mu.Lock()
	f.lines = n
	f.cond.Broadcast()
	f.mu.Unlock()
}

// waitLines waits until the follower has printed n payload lines.
func (f *follower) waitLines(b *testing.B, n int) time.Time {
	late := false
	timer := time.AfterFunc(2*time.Minute, func() {
		f.mu.Lock()
		late = true
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer timer.Stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.lines < n {
		if late {
			b.Fatalf("%s: %d of %d lines after 2 minutes", f.name, f.lines, n)
		}
		f.cond.Wait()
	}
	return time.Now()
}

// cpu is the process's user+system CPU time so far.
func (f *follower) cpu(b *testing.B) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", f.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which is in parentheses): state is
	// field 3, utime 14, stime 15.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ
	return time.Duration(utime+stime) * time.Second / ticks
}

func (f *follower) stop() {
	f.cmd.Process.Signal(syscall.SIGTERM)
	f.cmd.Wait()
}

func benchFollow(b *testing.B, tailPath string, outFile bool) {
	dir := b.TempDir()
	var files []string
	for i := range benchFiles {
		p := filepath.Join(dir, fmt.Sprintf("f%d.log", i))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			b.Fatal(err)
		}
		files = append(files, p)
	}
	out := ""
	if outFile {
		out = filepath.Join(dir, "out", "logtail.log")
		os.Mkdir(filepath.Dir(out), 0o755)
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	lt := exec.Command(self, "--lines", "0", "--out", out, filepath.Join(dir, "*.log"))
	lt.Env = append(os.Environ(), "LOGTAIL_BENCH_CHILD=1", "WEB_PASSWORD=hunter2-secret", "WEB_TOKEN=tok-0123456789abcdef")
	followers := []*follower{
		startFollower(b, "logtail", lt),
		startFollower(b, "tail -F", exec.Command(tailPath, append([]string{"-F", "-n", "0"}, files...)...)),
	}
	defer func() {
		for _, f := range followers {
			f.stop()
		}
	}()
	// Both follow once a marker written after they started shows up.
	ready := time.NewTicker(50 * time.Millisecond)
	defer ready.Stop()
	for _, f := range followers {
		for {
			appendLine(b, files[0], "ready\n")
			f.mu.Lock()
			marked := f.marked
			f.mu.Unlock()
			if marked {
				break
			}
			<-ready.C
		}
	}

	line := strings.Repeat("x", benchLineLen)
	total := benchFiles * benchLinesPerFile
	bytesPerRun := int64(0)
	for i := range benchFiles {
		bytesPerRun += int64(len(fmt.Sprintf("L%d %d %s\n", i, benchLinesPerFile/2, line)) * benchLinesPerFile)
	}
	elapsed := make([]time.Duration, len(followers))
	cpu := make([]time.Duration, len(followers))
	b.SetBytes(bytesPerRun)
	b.ResetTimer()
	for n := range b.N {
		cpu0 := make([]time.Duration, len(followers))
		for i, f := range followers {
			cpu0[i] = f.cpu(b)
		}
		start := time.Now()
		var wg sync.WaitGroup
		for i, p := range files {
			wg.Go(func() { writeLines(b, p, i, line) })
		}
		var fwg sync.WaitGroup
		for i, f := range followers {
			fwg.Go(func() { elapsed[i] += f.waitLines(b, (n+1)*total).Sub(start) })
		}
		wg.Wait()
		fwg.Wait()
		for i, f := range followers {
			cpu[i] += f.cpu(b) - cpu0[i]
		}
	}
	b.StopTimer()
	mb := float64(bytesPerRun) * float64(b.N) / (1 << 20)
	for i, name := range []string{"logtail", "tail"} {
		b.ReportMetric(float64(total*b.N)/elapsed[i].Seconds(), name+"-lines/s")
		b.ReportMetric(float64(cpu[i].Milliseconds())/mb, name+"-cpu-ms/MB")
	}
}

func writeLines(b *testing.B, path string, id int, payload string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Error(err)
		return
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 64<<10)
	for n := range benchLinesPerFile {
		fmt.Fprintf(w, "L%d %d %s\n", id, n, payload)
	}
	if err := w.Flush(); err != nil {
		b.Error(err)
	}
}

func appendLine(b *testing.B, path, s string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		b.Fatal(err)
	}
}
