package gpuprobe

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The samples below are written by hand in the formats nvidia-smi and
// rocm-smi print (not recorded from a machine): an HGX H100's 8 GPUs with
// one busy, and two MI300X.
const nvidiaSMISample = `00000000:18:00.0, 81559, 0, 0
00000000:2A:00.0, 81559, 0, 0
00000000:3A:00.0, 81559, 0, 0
00000000:5D:00.0, 81559, 0, 0
00000000:9A:00.0, 81559, 74213, 97
00000000:AB:00.0, 81559, 0, 0
00000000:BA:00.0, 81559, 0, 0
00000000:DB:00.0, 81559, 0, 0
`

const rocmSMISample = `{"card0": {"PCI Bus": "0000:0C:00.0", "GPU use (%)": "0", "VRAM Total Memory (B)": "206141652992", "VRAM Total Used Memory (B)": "297439232"}, "card1": {"PCI Bus": "0000:9F:00.0", "GPU use (%)": "38", "VRAM Total Memory (B)": "206141652992", "VRAM Total Used Memory (B)": "107374182400"}}
`

func TestParseNvidiaSMI(t *testing.T) {
	stats, errs := parseNvidiaSMI(nvidiaSMISample)
	if len(errs) != 0 || len(stats) != 8 {
		t.Fatalf("%d stats, errors %v", len(stats), errs)
	}
	s := stats["0000:9a:00.0"]
	if s.Source != "nvidia-smi" || *s.MemoryTotalBytes != 81559<<20 || *s.MemoryUsedBytes != 74213<<20 || *s.UtilizationPercent != 97 {
		t.Errorf("0000:9a:00.0 = %+v", s)
	}

	t.Run("not available values stay null", func(t *testing.T) {
		stats, errs := parseNvidiaSMI("00000000:01:00.0, 24564, [N/A], [Not Supported]\n")
		s := stats["0000:01:00.0"]
		if len(errs) != 0 || s.MemoryTotalBytes == nil || s.MemoryUsedBytes != nil || s.UtilizationPercent != nil {
			t.Errorf("%+v, %v", s, errs)
		}
	})
	t.Run("bad lines are reported, good ones kept", func(t *testing.T) {
		stats, errs := parseNvidiaSMI("No devices were found\n00000000:01:00.0, 24564, 1, 2\nnot-an-address, 1, 2, 3\n")
		if len(stats) != 1 || len(errs) != 2 {
			t.Fatalf("stats %v errs %v", stats, errs)
		}
		if !strings.Contains(errs[0].Error(), `line 1: "No devices were found" has 1 fields, want 4`) {
			t.Errorf("errs[0] = %v", errs[0])
		}
	})
}

func TestParseRocmSMI(t *testing.T) {
	stats, errs := parseRocmSMI("WARNING: AMD GPU device(s) is/are in a low-power state. Check power control/runtime_status\n\n" + rocmSMISample)
	if len(errs) != 0 || len(stats) != 2 {
		t.Fatalf("%d stats, errors %v", len(stats), errs)
	}
	s := stats["0000:9f:00.0"]
	if s.Source != "rocm-smi" || *s.MemoryTotalBytes != 206141652992 || *s.MemoryUsedBytes != 107374182400 || *s.UtilizationPercent != 38 {
		t.Errorf("0000:9f:00.0 = %+v", s)
	}

	t.Run("numbers and N/A", func(t *testing.T) {
		stats, errs := parseRocmSMI(`{"card0": {"PCI Bus": "0000:0c:00.0", "GPU use (%)": "N/A", "VRAM Total Memory (B)": 68702699520}, "system": {"Driver version": "6.8.5"}}`)
		s := stats["0000:0c:00.0"]
		if len(errs) != 0 || len(stats) != 1 || *s.MemoryTotalBytes != 68702699520 || s.UtilizationPercent != nil || s.MemoryUsedBytes != nil {
			t.Errorf("%+v, %v", s, errs)
		}
	})
	t.Run("a card without PCI Bus cannot be matched", func(t *testing.T) {
		_, errs := parseRocmSMI(`{"card0": {"GPU use (%)": "3"}}`)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), `card0: "PCI Bus"`) {
			t.Errorf("errs %v", errs)
		}
	})
	for _, in := range []string{"", "ERROR: no GPUs", "{", `{"card0": 1}`} {
		if stats, errs := parseRocmSMI(in); len(stats) != 0 || len(errs) == 0 {
			t.Errorf("parseRocmSMI(%q) = %v, %v; want an error", in, stats, errs)
		}
	}
}

func FuzzParseNvidiaSMI(f *testing.F) {
	f.Add(nvidiaSMISample)
	f.Add("00000000:01:00.0, 24564, [N/A], [Not Supported]\n")
	f.Add("0000:01:00.0, 1e400, -5, 101\n")
	f.Fuzz(func(t *testing.T, s string) {
		stats, _ := parseNvidiaSMI(s)
		checkStats(t, stats)
	})
}

func FuzzParseRocmSMI(f *testing.F) {
	f.Add(rocmSMISample)
	f.Add(`{"card0": {"PCI Bus": "0000:0c:00.0", "VRAM Total Memory (B)": 1e30}}`)
	f.Fuzz(func(t *testing.T, s string) {
		stats, _ := parseRocmSMI(s)
		checkStats(t, stats)
	})
}

func checkStats(t *testing.T, stats map[string]Live) {
	t.Helper()
	for addr, s := range stats {
		if a, err := parsePCIAddress(addr); err != nil || a != addr {
			t.Fatalf("key %q is not a normalised address", addr)
		}
		if (s.MemoryTotalBytes != nil && *s.MemoryTotalBytes < 0) || (s.MemoryUsedBytes != nil && *s.MemoryUsedBytes < 0) {
			t.Fatalf("negative memory: %+v", s)
		}
		if p := s.UtilizationPercent; p != nil && (*p < 0 || *p > 100) {
			t.Fatalf("utilisation %d", *p)
		}
	}
}

// fakeTool writes an executable shell script called name into dir.
func fakeTool(t *testing.T, dir, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestProbe_Live runs real child processes as nvidia-smi / rocm-smi through
// the default runner, with PATH from the injected environment.
func TestProbe_Live(t *testing.T) {
	bin := t.TempDir()
	// nvidia-smi answers only the exact query gpu-probe documents.
	fakeTool(t, bin, "nvidia-smi", `[ "$*" = "--query-gpu=pci.bus_id,memory.total,memory.used,utilization.gpu --format=csv,noheader,nounits" ] || { echo "bad args: $*" >&2; exit 2; }
echo "00000000:18:00.0, 81559, 1024, 35"
`)
	fakeTool(t, bin, "rocm-smi", `[ "$*" = "--showbus --showmeminfo vram --showuse --json" ] || { echo "bad args: $*" >&2; exit 2; }
cat <<'EOF'
`+rocmSMISample+`EOF
`)
	env := map[string]string{"PATH": bin}
	probe := func(fixture string, env map[string]string, timeout time.Duration) *Report {
		t.Helper()
		r, err := Probe(context.Background(), Options{Root: fixtureRoot(fixture), LookupEnv: envMap(env), Live: true, LiveTimeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("nvidia-smi fills memory", func(t *testing.T) {
		r := probe("nvidia-1x-h100", env, 0)
		g := r.GPUs[0]
		if len(r.Warnings) != 0 || g.Live == nil || *g.Live.MemoryUsedBytes != 1024<<20 || *g.Live.UtilizationPercent != 35 {
			t.Fatalf("live %+v warnings %q", g.Live, r.Warnings)
		}
		if *g.MemoryBytes != 81559<<20 || deref(g.MemorySource) != "nvidia-smi" {
			t.Errorf("memory %v from %v", *g.MemoryBytes, deref(g.MemorySource))
		}
	})
	t.Run("rocm-smi adds live data, sysfs memory stays", func(t *testing.T) {
		r := probe("amd-2x-mi300x", env, 0)
		g := r.GPUs[1]
		if len(r.Warnings) != 0 || g.Live == nil || *g.Live.UtilizationPercent != 38 || deref(g.MemorySource) != "sysfs" {
			t.Errorf("gpu %+v live %+v warnings %q", g, g.Live, r.Warnings)
		}
	})
	t.Run("a GPU the tool reports but the root lacks is ignored", func(t *testing.T) {
		r := probe("mixed-nvidia-intel", env, 0)
		if r.GPUs[1].Live != nil || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "nvidia-smi reports GPU 0000:18:00.0, which is not among the GPUs found") {
			t.Errorf("live %+v warnings %q", r.GPUs[1].Live, r.Warnings)
		}
	})
	t.Run("absent tools are not a problem", func(t *testing.T) {
		r := probe("nvidia-1x-h100", map[string]string{"PATH": t.TempDir()}, 0)
		if len(r.Warnings) != 0 || r.GPUs[0].Live != nil {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
	t.Run("a failing tool is a warning with its message", func(t *testing.T) {
		dir := t.TempDir()
		fakeTool(t, dir, "nvidia-smi", "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"\nexit 9\n")
		r := probe("nvidia-1x-h100", map[string]string{"PATH": dir}, 0)
		want := "nvidia-smi: exit status 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.; no live data"
		if len(r.Warnings) != 1 || r.Warnings[0] != want || r.GPUs[0].Live != nil {
			t.Errorf("warnings %q, want %q", r.Warnings, want)
		}
	})
	t.Run("a hanging tool is cut off at the timeout", func(t *testing.T) {
		dir := t.TempDir()
		fakeTool(t, dir, "nvidia-smi", "exec sleep 30\n")
		r := probe("nvidia-1x-h100", map[string]string{"PATH": dir}, 200*time.Millisecond)
		if len(r.Warnings) != 1 || r.Warnings[0] != "nvidia-smi: no answer within 200ms; no live data" {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
	t.Run("a child left holding stdout does not hold the probe", func(t *testing.T) {
		// The tool starts a child (cat) that keeps its stdout open and
		// blocks on a FIFO until this test lets it go; the tool itself is
		// killed when the probe's context ends. Without WaitDelay the
		// probe would wait for cat, that is for ever.
		dir := t.TempDir()
		fifo, started := filepath.Join(dir, "release"), filepath.Join(dir, "started")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			// a writer that opens and closes lets cat read EOF and exit
			if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		})
		fakeTool(t, dir, "nvidia-smi", ": > '"+started+"'\ncat '"+fifo+"' > /dev/null\necho never\n")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan *Report, 1)
		go func() {
			r, _ := Probe(ctx, Options{Root: fixtureRoot("nvidia-1x-h100"), LookupEnv: envMap(map[string]string{"PATH": dir}), Live: true, LiveTimeout: time.Hour})
			done <- r
		}()
		deadline := time.Now().Add(waitTimeout)
		for _, err := os.Stat(started); err != nil; _, err = os.Stat(started) {
			if time.Now().After(deadline) {
				t.Fatal("the fake nvidia-smi did not start")
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		select {
		case r := <-done:
			if len(r.Warnings) != 1 || r.Warnings[0] != "nvidia-smi: context canceled; no live data" {
				t.Errorf("warnings %q", r.Warnings)
			}
		case <-time.After(waitTimeout):
			t.Fatal("the probe waited for the tool's child, which still holds its stdout")
		}
	})
	t.Run("tools run only for their vendor's GPUs", func(t *testing.T) {
		called := 0
		run := func(ctx context.Context, name string, args ...string) ([]byte, error) {
			called++
			return nil, errors.New("should not run")
		}
		r, err := Probe(context.Background(), Options{Root: fixtureRoot("intel-igpu"), LookupEnv: envMap(nil), Live: true, RunTool: run})
		if err != nil || called != 0 || len(r.Warnings) != 0 {
			t.Errorf("called %d, warnings %q, err %v", called, r.Warnings, err)
		}
	})
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	fakeTool(t, dir, "tool", "exit 0\n")
	if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, ok := lookPath("/nonexistent"+string(filepath.ListSeparator)+dir, "tool"); !ok || p != filepath.Join(dir, "tool") {
		t.Errorf("lookPath = %q, %v", p, ok)
	}
	if _, ok := lookPath(dir, "plain"); ok {
		t.Error("a file without execute bits was found")
	}
	if _, ok := lookPath("", "sh"); ok {
		t.Error("an empty PATH found something")
	}
}
