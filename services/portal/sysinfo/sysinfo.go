// Package sysinfo reads CPU, memory and disk use of the container, with
// the limits of its cgroup (v2 or v1), from files under a root so that
// tests read a fixture tree. Parsers take strings; readers take the root.
package sysinfo

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Info is one reading.
type Info struct {
	CPUs         float64  `json:"cpus"`           // cores usable (the cgroup quota, else the CPUs)
	CPUPercent   *float64 `json:"cpu_percent"`    // of CPUs, over the last interval; nil at the first reading
	Load1        float64  `json:"load1"`          // load average over a minute
	MemTotal     int64    `json:"memory_total"`   // bytes: the cgroup limit, else the machine's memory
	MemUsed      int64    `json:"memory_used"`    // bytes
	CgroupLimits bool     `json:"cgroup_limited"` // a cgroup limit applies to CPU or memory
	Cgroup       string   `json:"cgroup"`         // "v2", "v1" or ""
	Disks        []Disk   `json:"disks"`
}

// Disk is one file system.
type Disk struct {
	Path  string `json:"path"`
	Total int64  `json:"total"`
	Used  int64  `json:"used"`
}

// Reader reads Info; it keeps the previous CPU sample to compute use.
type Reader struct {
	Root  string   // "/" in the container
	Disks []string // paths whose file systems are shown (absolute, not under Root)

	lastUsage time.Duration
	lastAt    time.Time
}

func (r *Reader) path(p string) string { return filepath.Join(r.Root, p) }

func (r *Reader) read(p string) string {
	b, err := os.ReadFile(r.path(p))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Read takes a reading at now.
func (r *Reader) Read(now time.Time) Info {
	var in Info
	in.CPUs = float64(runtime.NumCPU())
	memTotal, memAvail := ParseMeminfo(r.read("proc/meminfo"))
	in.MemTotal, in.MemUsed = memTotal, memTotal-memAvail
	in.Load1 = ParseLoad(r.read("proc/loadavg"))

	var usage time.Duration
	var haveUsage bool
	if r.read("sys/fs/cgroup/cgroup.controllers") != "" || fileExists(r.path("sys/fs/cgroup/cpu.max")) {
		in.Cgroup = "v2"
		if q, ok := ParseCPUMax(r.read("sys/fs/cgroup/cpu.max")); ok && q < in.CPUs {
			in.CPUs, in.CgroupLimits = q, true
		}
		if lim, ok := parseLimit(r.read("sys/fs/cgroup/memory.max")); ok && (memTotal == 0 || lim < memTotal) {
			in.MemTotal, in.CgroupLimits = lim, true
		}
		if cur, err := strconv.ParseInt(r.read("sys/fs/cgroup/memory.current"), 10, 64); err == nil {
			in.MemUsed = cur - statField(r.read("sys/fs/cgroup/memory.stat"), "inactive_file")
		}
		if u, ok := ParseCPUStat(r.read("sys/fs/cgroup/cpu.stat")); ok {
			usage, haveUsage = u, true
		}
	} else if fileExists(r.path("sys/fs/cgroup/memory/memory.limit_in_bytes")) || fileExists(r.path("sys/fs/cgroup/cpu/cpu.cfs_quota_us")) {
		in.Cgroup = "v1"
		quota, err1 := strconv.ParseInt(r.read("sys/fs/cgroup/cpu/cpu.cfs_quota_us"), 10, 64)
		period, err2 := strconv.ParseInt(r.read("sys/fs/cgroup/cpu/cpu.cfs_period_us"), 10, 64)
		if err1 == nil && err2 == nil && quota > 0 && period > 0 && float64(quota)/float64(period) < in.CPUs {
			in.CPUs, in.CgroupLimits = float64(quota)/float64(period), true
		}
		// v1 reports "no limit" as a huge number (2^63 rounded to pages).
		if lim, ok := parseLimit(r.read("sys/fs/cgroup/memory/memory.limit_in_bytes")); ok && lim < 1<<60 && (memTotal == 0 || lim < memTotal) {
			in.MemTotal, in.CgroupLimits = lim, true
		}
		if cur, err := strconv.ParseInt(r.read("sys/fs/cgroup/memory/memory.usage_in_bytes"), 10, 64); err == nil {
			in.MemUsed = cur - statField(r.read("sys/fs/cgroup/memory/memory.stat"), "total_inactive_file")
		}
		if ns, err := strconv.ParseInt(r.read("sys/fs/cgroup/cpuacct/cpuacct.usage"), 10, 64); err == nil {
			usage, haveUsage = time.Duration(ns), true
		}
	}
	if haveUsage {
		if !r.lastAt.IsZero() && now.After(r.lastAt) && in.CPUs > 0 {
			p := float64(usage-r.lastUsage) / float64(now.Sub(r.lastAt)) / in.CPUs * 100
			p = min(max(p, 0), 100)
			in.CPUPercent = &p
		}
		r.lastUsage, r.lastAt = usage, now
	}
	for _, d := range r.Disks {
		var st syscall.Statfs_t
		if syscall.Statfs(d, &st) == nil {
			total := int64(st.Blocks) * st.Bsize
			in.Disks = append(in.Disks, Disk{Path: d, Total: total, Used: total - int64(st.Bavail)*st.Bsize})
		}
	}
	return in
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// ParseMeminfo returns MemTotal and MemAvailable in bytes.
func ParseMeminfo(s string) (total, avail int64) {
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			total = n * 1024
		case "MemAvailable:":
			avail = n * 1024
		}
	}
	return total, avail
}

// ParseLoad returns the one-minute load average of /proc/loadavg.
func ParseLoad(s string) float64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// ParseCPUMax reads cgroup v2's cpu.max ("max 100000" or "150000 100000")
// as a number of cores.
func ParseCPUMax(s string) (float64, bool) {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] == "max" {
		return 0, false
	}
	q, err1 := strconv.ParseFloat(f[0], 64)
	p, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	return q / p, true
}

// ParseCPUStat reads usage_usec of cgroup v2's cpu.stat.
func ParseCPUStat(s string) (time.Duration, bool) {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Duration(n) * time.Microsecond, err == nil
		}
	}
	return 0, false
}

func parseLimit(s string) (int64, bool) {
	if s == "" || s == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

func statField(s, key string) int64 {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
