package gpuprobe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultLiveTimeout bounds each vendor tool that --live runs.
const DefaultLiveTimeout = 5 * time.Second

// ErrToolNotFound is returned by a ToolRunner when the tool is not
// installed. Probe treats it as "no live data", not as a problem.
var ErrToolNotFound = errors.New("not found in PATH")

// ToolRunner runs a vendor tool (nvidia-smi, rocm-smi) and returns its
// standard output. It must stop when ctx is done.
type ToolRunner func(ctx context.Context, name string, args ...string) ([]byte, error)

// The exact command lines --live runs.
var (
	nvidiaSMIArgs = []string{"--query-gpu=pci.bus_id,memory.total,memory.used,utilization.gpu", "--format=csv,noheader,nounits"}
	rocmSMIArgs   = []string{"--showbus", "--showmeminfo", "vram", "--showuse", "--json"}
)

// maxToolOutput caps what is kept of a tool's output.
const maxToolOutput = 1 << 20

// execRunner returns the ToolRunner that runs real programs, found in the
// PATH that lookupEnv gives.
func execRunner(lookupEnv func(string) (string, bool)) ToolRunner {
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		pathEnv, _ := lookupEnv("PATH")
		path, ok := lookPath(pathEnv, name)
		if !ok {
			return nil, ErrToolNotFound
		}
		var stdout, stderr limitedBuffer
		stdout.max, stderr.max = maxToolOutput, 4096
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Stdin = nil
		cmd.Stdout = &stdout
		cmd.Stderr = &stderr
		// A tool that leaves a child holding its pipes must not hold us.
		cmd.WaitDelay = time.Second
		err := cmd.Run()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			if msg := firstLine(stderr.String()); msg != "" {
				return nil, fmt.Errorf("%w: %s", err, msg)
			}
			if msg := firstLine(stdout.String()); msg != "" {
				return nil, fmt.Errorf("%w: %s", err, msg)
			}
			return nil, err
		}
		return stdout.Bytes(), nil
	}
}

// lookPath finds an executable regular file called name in a PATH value.
// Empty PATH entries (the current directory) are not searched.
func lookPath(pathEnv, name string) (string, bool) {
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

var _ io.Writer = (*limitedBuffer)(nil)

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// parseNvidiaSMI parses the output of
// nvidia-smi --query-gpu=pci.bus_id,memory.total,memory.used,utilization.gpu --format=csv,noheader,nounits
// ("00000000:18:00.0, 81559, 0, 0" per GPU; memory in MiB). Values such as
// "[N/A]" or "[Not Supported]" are left null. It returns the stats keyed by
// normalised PCI address and one error per line it could not read.
func parseNvidiaSMI(out string) (map[string]Live, []error) {
	stats := map[string]Live{}
	var errs []error
	n := 0
	for line := range strings.Lines(out) {
		n++
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 4 {
			errs = append(errs, fmt.Errorf("line %d: %q has %d fields, want 4 (pci.bus_id, memory.total, memory.used, utilization.gpu)", n, line, len(f)))
			continue
		}
		addr, err := parsePCIAddress(f[0])
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		s := Live{Source: "nvidia-smi"}
		if v, ok := parseNumber(f[1]); ok && v <= math.MaxInt64>>20 {
			b := int64(v) << 20
			s.MemoryTotalBytes = &b
		}
		if v, ok := parseNumber(f[2]); ok && v <= math.MaxInt64>>20 {
			b := int64(v) << 20
			s.MemoryUsedBytes = &b
		}
		if v, ok := parseNumber(f[3]); ok && v <= 100 {
			p := int(v)
			s.UtilizationPercent = &p
		}
		stats[addr] = s
	}
	return stats, errs
}

// parseNumber reads a non-negative whole number, rounding a decimal one;
// anything else ("[N/A]", "") is not a number.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || v > 1<<62 {
		return 0, false
	}
	return math.Round(v), true
}

// parseRocmSMI parses the output of
// rocm-smi --showbus --showmeminfo vram --showuse --json:
//
//	{"card0": {"PCI Bus": "0000:0C:00.0", "VRAM Total Memory (B)": "206141652992",
//	           "VRAM Total Used Memory (B)": "297439232", "GPU use (%)": "0"}, ...}
//
// Text before the JSON object (rocm-smi prints some warnings there) is
// skipped. Cards without a "PCI Bus" cannot be matched and are reported.
func parseRocmSMI(out string) (map[string]Live, []error) {
	start := strings.IndexByte(out, '{')
	if start < 0 {
		return nil, []error{errors.New("no JSON object in the output")}
	}
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(out[start:]))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, []error{fmt.Errorf("reading the JSON output: %w", err)}
	}
	cards := make([]string, 0, len(doc))
	for k := range doc {
		if strings.HasPrefix(k, "card") {
			cards = append(cards, k)
		}
	}
	sort.Strings(cards)
	stats := map[string]Live{}
	var errs []error
	for _, card := range cards {
		var fields map[string]any
		d := json.NewDecoder(bytes.NewReader(doc[card]))
		d.UseNumber()
		if err := d.Decode(&fields); err != nil {
			errs = append(errs, fmt.Errorf("%s: not a JSON object", card))
			continue
		}
		bus, _ := fields["PCI Bus"].(string)
		addr, err := parsePCIAddress(bus)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: \"PCI Bus\": %w", card, err))
			continue
		}
		s := Live{Source: "rocm-smi"}
		if v, ok := jsonNumber(fields["VRAM Total Memory (B)"]); ok && v < math.MaxInt64 {
			b := int64(v)
			s.MemoryTotalBytes = &b
		}
		if v, ok := jsonNumber(fields["VRAM Total Used Memory (B)"]); ok && v < math.MaxInt64 {
			b := int64(v)
			s.MemoryUsedBytes = &b
		}
		if v, ok := jsonNumber(fields["GPU use (%)"]); ok && v <= 100 {
			p := int(v)
			s.UtilizationPercent = &p
		}
		stats[addr] = s
	}
	return stats, errs
}

// jsonNumber reads a rocm-smi value, which is a string ("206141652992") or,
// in some versions, a number.
func jsonNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case string:
		return parseNumber(v)
	case json.Number:
		return parseNumber(v.String())
	}
	return 0, false
}
