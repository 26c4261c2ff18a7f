package storagemonitor

// Benchmarks; `go test` alone does not run them. The README's figures:
//
//	go test -run '^$' -bench . -benchtime 1x ./services/storagemonitor/
//
// Each benchmark reports its figures with b.ReportMetric.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

const (
	benchFolders       = 1000 // mapped storage folders, 3 targets each
	benchFilesPerDir   = 100  // 100,000 files
	benchBashFolders   = 5    // the bash approach runs on 500 files and is extrapolated
	benchBurst         = 10000
	benchBashBurst     = 500
	benchTargetsPerMap = 3
)

// benchDir holds the trees the benchmarks share; removed by TestMain.
var benchDir struct {
	sync.Mutex
	path  string
	trees map[int]*benchTree
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir.path != "" {
		os.RemoveAll(benchDir.path)
	}
	os.Exit(code)
}

// benchTree is a storage of folders f0000… with benchFilesPerDir files
// each, every folder mapped to three targets opt/app{0,1,2}/f0000….
type benchTree struct {
	dir, storage, opt string
	maps              []Mapping
	mappingsTOML      string
	mappingsSh        string
	folders           int
}

func getTree(b *testing.B, folders int) *benchTree {
	b.Helper()
	benchDir.Lock()
	defer benchDir.Unlock()
	if benchDir.path == "" {
		d, err := os.MkdirTemp("", "storagemonitor-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir.path, benchDir.trees = d, map[int]*benchTree{}
	}
	if t := benchDir.trees[folders]; t != nil {
		return t
	}
	t := &benchTree{dir: filepath.Join(benchDir.path, fmt.Sprint("tree-", folders)), folders: folders}
	t.storage, t.opt = filepath.Join(t.dir, "storage"), filepath.Join(t.dir, "opt")
	var toml, sh strings.Builder
	sh.WriteString("declare -A storage_map\n")
	for i := range benchFolders { // every mapping, even for a reduced tree
		key := fmt.Sprintf("f%04d", i)
		var targets []string
		for j := range benchTargetsPerMap {
			targets = append(targets, filepath.Join(t.opt, fmt.Sprint("app", j), key))
		}
		t.maps = append(t.maps, Mapping{Storage: key, Targets: targets, File: "bench", Entry: key})
		fmt.Fprintf(&toml, "[[map]]\nstorage = %q\ntargets = [%q, %q, %q]\n", key, targets[0], targets[1], targets[2])
		fmt.Fprintf(&sh, "storage_map[%q]=%q\n", key, strings.Join(targets, " "))
	}
	for i := range folders {
		d := filepath.Join(t.storage, fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range benchFilesPerDir {
			f, err := os.Create(filepath.Join(d, fmt.Sprintf("model-%03d.safetensors", j)))
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	}
	t.mappingsTOML, t.mappingsSh = filepath.Join(t.dir, "mappings.toml"), filepath.Join(t.dir, "mappings.sh")
	if err := os.WriteFile(t.mappingsTOML, []byte(toml.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(t.mappingsSh, []byte(sh.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	benchDir.trees[folders] = t
	return t
}

// resetTargets empties the target folders (the state of a fresh container).
func (t *benchTree) resetTargets(b *testing.B) {
	b.Helper()
	if err := os.RemoveAll(t.opt); err != nil {
		b.Fatal(err)
	}
	for _, m := range t.maps {
		for _, tg := range m.Targets {
			if err := os.MkdirAll(tg, 0o755); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkStartupPass: the start-up pass over 100,000 files in 1,000
// mapped folders with 3 targets each (300,000 links), by the monitor and
// by the images' way (find -exec: one bash process per path running the
// mapping logic), the latter on 500 files and extrapolated.
func BenchmarkStartupPass(b *testing.B) {
	b.Run("go", func(b *testing.B) {
		t := getTree(b, benchFolders)
		var took time.Duration
		for range b.N {
			b.StopTimer()
			t.resetTargets(b)
			m, err := New(Options{Storage: t.storage, Mappings: t.maps, Log: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			if err := m.Once(context.Background()); err != nil {
				b.Fatal(err)
			}
			took += time.Since(start)
			if st := m.Stats(); st.Linked != benchFolders*benchFilesPerDir*benchTargetsPerMap {
				b.Fatalf("linked %d", st.Linked)
			}
		}
		files := float64(benchFolders * benchFilesPerDir * b.N)
		b.ReportMetric(files/took.Seconds(), "files/s")
		b.ReportMetric(took.Seconds()/float64(b.N), "s/100k-files")
	})
	b.Run("go-again", func(b *testing.B) { // a restart: every link is already there
		t := getTree(b, benchFolders)
		var took time.Duration
		for range b.N {
			m, _ := New(Options{Storage: t.storage, Mappings: t.maps, Log: zerolog.Nop()})
			start := time.Now()
			if err := m.Once(context.Background()); err != nil {
				b.Fatal(err)
			}
			took += time.Since(start)
		}
		b.ReportMetric(float64(benchFolders*benchFilesPerDir*b.N)/took.Seconds(), "files/s")
		b.ReportMetric(took.Seconds()/float64(b.N), "s/100k-files")
	})
	b.Run("bash-per-file", func(b *testing.B) {
		t := getTree(b, benchBashFolders)
		script, err := filepath.Abs("testdata/bench/link-one.sh")
		if err != nil {
			b.Fatal(err)
		}
		var took time.Duration
		for range b.N {
			b.StopTimer()
			t.resetTargets(b)
			b.StartTimer()
			start := time.Now()
			cmd := exec.Command("find", t.storage, "-exec", "bash", script, t.storage, "{}", ";")
			cmd.Env = append(os.Environ(), "MAPPINGS_SH="+t.mappingsSh)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			took += time.Since(start)
		}
		b.StopTimer()
		entries, _ := os.ReadDir(filepath.Join(t.opt, "app2", "f0000"))
		if len(entries) != benchFilesPerDir {
			b.Fatalf("the bash way made %d links in app2/f0000", len(entries))
		}
		files := float64(benchBashFolders * benchFilesPerDir * b.N)
		rate := files / took.Seconds()
		b.ReportMetric(rate, "files/s")
		b.ReportMetric(float64(benchFolders*benchFilesPerDir)/rate, "s/100k-files(extrapolated)")
	})
}

// BenchmarkCreateLatency: how long after a file is created in the storage
// all three of its links exist, under a burst of creates into a watched
// folder; by the monitor (10,000 creates) and by the images' way
// (inotifywait feeding one bash process per event; 500 creates).
func BenchmarkCreateLatency(b *testing.B) {
	b.Run("go", func(b *testing.B) {
		for range b.N {
			dir := b.TempDir()
			storage := filepath.Join(dir, "storage")
			var targets []string
			for j := range benchTargetsPerMap {
				targets = append(targets, filepath.Join(dir, "opt", fmt.Sprint("app", j), "m"))
				os.MkdirAll(targets[j], 0o755)
			}
			os.MkdirAll(filepath.Join(storage, "m"), 0o755)
			var mu sync.Mutex
			linked := map[string]int{}
			done := map[string]time.Time{}
			all := make(chan struct{})
			log := &syncBuffer{}
			m, _ := New(Options{Storage: storage, Mappings: []Mapping{{Storage: "m", Targets: targets}}, Log: zerolog.New(log).Level(zerolog.InfoLevel),
				OnLink: func(_, src string) {
					now := time.Now()
					mu.Lock()
					defer mu.Unlock()
					linked[src]++
					if linked[src] == benchTargetsPerMap {
						done[src] = now
						if len(done) == benchBurst {
							close(all)
						}
					}
				}})
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() { defer close(stopped); m.Run(ctx) }()
			for !strings.Contains(log.String(), "start-up pass done") {
				time.Sleep(10 * time.Millisecond)
			}
			burstStart := time.Now()
			created := burst(b, filepath.Join(storage, "m"), benchBurst)
			b.ReportMetric(float64(time.Since(burstStart))/float64(time.Millisecond), "burst-ms")
			select {
			case <-all:
			case <-time.After(5 * time.Minute):
				b.Fatalf("only %d of %d files linked", len(done), benchBurst)
			}
			cancel()
			<-stopped
			b.ReportMetric(float64(strings.Count(log.String(), "overflowed")), "overflows")
			reportLatency(b, created, func(p string) time.Time {
				mu.Lock()
				defer mu.Unlock()
				return done[p]
			})
		}
	})
	b.Run("bash-inotifywait", func(b *testing.B) {
		if _, err := exec.LookPath("inotifywait"); err != nil {
			b.Fatalf("inotifywait is needed for the comparison with ai-dock's script (apt-get install inotify-tools): %v", err)
		}
		script, _ := filepath.Abs("testdata/bench/watch-bash.sh")
		for range b.N {
			dir := b.TempDir()
			storage := filepath.Join(dir, "storage")
			var targets []string
			var sh strings.Builder
			for j := range benchTargetsPerMap {
				targets = append(targets, filepath.Join(dir, "opt", fmt.Sprint("app", j), "m"))
				os.MkdirAll(targets[j], 0o755)
			}
			fmt.Fprintf(&sh, "declare -A storage_map\nstorage_map[\"m\"]=%q\n", strings.Join(targets, " "))
			os.WriteFile(filepath.Join(dir, "mappings.sh"), []byte(sh.String()), 0o644)
			os.MkdirAll(filepath.Join(storage, "m"), 0o755)

			// the links are made in target order: the last target's link
			// completes a file
			obs, err := fsnotify.NewBufferedWatcher(benchBashBurst * 2)
			if err != nil {
				b.Fatal(err)
			}
			obs.Add(targets[len(targets)-1])
			var mu sync.Mutex
			done := map[string]time.Time{}
			all := make(chan struct{})
			go func() {
				for ev := range obs.Events {
					if !ev.Has(fsnotify.Create) {
						continue
					}
					mu.Lock()
					src := filepath.Join(storage, "m", filepath.Base(ev.Name))
					if _, ok := done[src]; !ok {
						done[src] = time.Now()
						if len(done) == benchBashBurst {
							close(all)
						}
					}
					mu.Unlock()
				}
			}()
			cmd := exec.Command("bash", script, storage)
			cmd.Env = append(os.Environ(), "MAPPINGS_SH="+filepath.Join(dir, "mappings.sh"))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			ready := make(chan struct{})
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					if strings.Contains(sc.Text(), "Watches established") {
						close(ready)
					}
				}
			}()
			select {
			case <-ready:
			case <-time.After(time.Minute):
				b.Fatal("inotifywait did not start")
			}
			burstStart := time.Now()
			created := burst(b, filepath.Join(storage, "m"), benchBashBurst)
			b.ReportMetric(float64(time.Since(burstStart))/float64(time.Millisecond), "burst-ms")
			select {
			case <-all:
			case <-time.After(10 * time.Minute):
				b.Errorf("only %d of %d files linked", len(done), benchBashBurst)
			}
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			obs.Close()
			reportLatency(b, created, func(p string) time.Time {
				mu.Lock()
				defer mu.Unlock()
				return done[p]
			})
		}
	})
}

// burst creates n empty files in dir as fast as it can and returns the
// time each creation started, by path.
func burst(b *testing.B, dir string, n int) map[string]time.Time {
	created := make(map[string]time.Time, n)
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("file-%05d.bin", i))
		created[p] = time.Now()
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	return created
}

func reportLatency(b *testing.B, created map[string]time.Time, done func(string) time.Time) {
	var lat []time.Duration
	for p, c := range created {
		if d := done(p); !d.IsZero() {
			lat = append(lat, d.Sub(c))
		}
	}
	if len(lat) == 0 {
		b.Fatal("nothing linked")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "median-ms")
	b.ReportMetric(ms(lat[len(lat)*9/10]), "p90-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(float64(len(lat)), "files")
}

// BenchmarkWatchRSS runs the command on 10,000 and 100,000 files (100 and
// 1,000 mapped folders, 3 targets each) and reports its resident memory
// once it watches, and how much that grew after 10 idle seconds.
func BenchmarkWatchRSS(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "storagemonitor")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/storagemonitor").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for _, folders := range []int{100, 1000} {
		b.Run(fmt.Sprint(folders*benchFilesPerDir, "-files"), func(b *testing.B) {
			t := getTree(b, folders)
			for range b.N {
				t.resetTargets(b)
				cmd := exec.Command(bin, "--storage", t.storage, "--image-storage", "", "--mappings", t.mappingsTOML, "--wait-for", "", "--log-format", "json")
				stderr, _ := cmd.StderrPipe()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				started := make(chan string, 1)
				go func() {
					sc := bufio.NewScanner(stderr)
					for sc.Scan() {
						if strings.Contains(sc.Text(), "start-up pass done") {
							started <- sc.Text()
						}
					}
				}()
				select {
				case <-started:
				case <-time.After(5 * time.Minute):
					cmd.Process.Kill()
					b.Fatal("no start-up")
				}
				time.Sleep(2 * time.Second)
				rss, hwm := procStatus(b, cmd.Process.Pid)
				time.Sleep(10 * time.Second)
				idle, _ := procStatus(b, cmd.Process.Pid)
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
				b.ReportMetric(float64(rss)/1024, "rss-MiB")
				b.ReportMetric(float64(hwm)/1024, "peak-rss-MiB")
				b.ReportMetric(float64(idle-rss), "idle-growth-KiB")
			}
		})
	}
}

// procStatus returns VmRSS and VmHWM of pid, in KiB.
func procStatus(b *testing.B, pid int) (rss, hwm int) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			rss = n
		case "VmHWM:":
			hwm = n
		}
	}
	return rss, hwm
}
