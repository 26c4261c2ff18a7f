package sysinfo

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const meminfo = "MemTotal:       16384000 kB\nMemFree:         1000 kB\nMemAvailable:    8192000 kB\n"

func TestReader_CgroupV2(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"proc/meminfo":                     meminfo,
		"proc/loadavg":                     "0.50 0.40 0.30 1/100 42",
		"sys/fs/cgroup/cgroup.controllers": "cpu memory",
		"sys/fs/cgroup/cpu.max":            "50000 100000",
		"sys/fs/cgroup/memory.max":         "1073741824",
		"sys/fs/cgroup/memory.current":     "536870912",
		"sys/fs/cgroup/memory.stat":        "anon 1\ninactive_file 268435456\n",
		"sys/fs/cgroup/cpu.stat":           "usage_usec 1000000\n",
	})
	r := &Reader{Root: root}
	t0 := time.Unix(100, 0)
	in := r.Read(t0)
	if in.Cgroup != "v2" || in.CPUs != 0.5 || in.MemTotal != 1<<30 || in.MemUsed != 256<<20 || !in.CgroupLimits || in.Load1 != 0.5 || in.CPUPercent != nil {
		t.Fatalf("%+v", in)
	}
	write(t, root, map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 1250000\n"})
	in = r.Read(t0.Add(time.Second)) // 0.25 s of CPU in 1 s on half a core: 50%
	if in.CPUPercent == nil || *in.CPUPercent != 50 {
		t.Fatalf("cpu %v", in.CPUPercent)
	}
}

func TestReader_CgroupV1Unlimited(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"proc/meminfo": meminfo,
		"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712",
		"sys/fs/cgroup/memory/memory.usage_in_bytes": "1048576",
		"sys/fs/cgroup/cpu/cpu.cfs_quota_us":         "-1",
		"sys/fs/cgroup/cpu/cpu.cfs_period_us":        "100000",
	})
	in := (&Reader{Root: root}).Read(time.Now())
	if in.Cgroup != "v1" || in.CgroupLimits || in.MemTotal != 16384000*1024 || in.MemUsed != 1048576 {
		t.Fatalf("%+v", in)
	}
}

func TestParseCPUMax(t *testing.T) {
	for in, want := range map[string]float64{"max 100000": 0, "200000 100000": 2, "": 0, "x y": 0} {
		if got, _ := ParseCPUMax(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}
