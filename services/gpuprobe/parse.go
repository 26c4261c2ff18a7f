package gpuprobe

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds the parsers of the text that the kernel and the vendor
// tools produce. They take strings, never paths, so they are tested (and
// fuzzed) on strings; the readers in probe.go feed them files.

// parsePCIAddress normalises a PCI address as sysfs, /proc/driver/nvidia and
// nvidia-smi write it ("0000:18:00.0", "00000000:9A:00.0", "10000:e1:00.0")
// to sysfs' form: lower-case hex, the domain with at least 4 digits.
func parsePCIAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	domain, rest, ok := strings.Cut(s, ":")
	if !ok || len(rest) != 7 || rest[2] != ':' || rest[5] != '.' {
		return "", fmt.Errorf("%q is not a PCI address (like 0000:18:00.0)", s)
	}
	if len(domain) == 0 || len(domain) > 8 {
		return "", fmt.Errorf("%q is not a PCI address (like 0000:18:00.0)", s)
	}
	dom, err := strconv.ParseUint(domain, 16, 32)
	if err != nil {
		return "", fmt.Errorf("%q is not a PCI address (like 0000:18:00.0)", s)
	}
	bus, err1 := strconv.ParseUint(rest[0:2], 16, 8)
	dev, err2 := strconv.ParseUint(rest[3:5], 16, 8)
	fn, err3 := strconv.ParseUint(rest[6:7], 16, 8)
	if err1 != nil || err2 != nil || err3 != nil || dev > 0x1f || fn > 7 {
		return "", fmt.Errorf("%q is not a PCI address (like 0000:18:00.0)", s)
	}
	return fmt.Sprintf("%04x:%02x:%02x.%x", dom, bus, dev, fn), nil
}

// parseHexID parses a sysfs id file such as vendor ("0x10de\n") into 4
// lower-case hex digits.
func parseHexID(s string) (string, error) {
	t := strings.TrimSpace(s)
	h, ok := strings.CutPrefix(strings.ToLower(t), "0x")
	if !ok || len(h) == 0 || len(h) > 4 {
		return "", fmt.Errorf("%q is not a PCI id (like 0x10de)", t)
	}
	v, err := strconv.ParseUint(h, 16, 16)
	if err != nil {
		return "", fmt.Errorf("%q is not a PCI id (like 0x10de)", t)
	}
	return fmt.Sprintf("%04x", v), nil
}

// pciClass is a PCI class code split into its three bytes, each as 2
// lower-case hex digits (pci.ids' notation).
type pciClass struct {
	Class, Subclass, ProgIf string
}

func (c pciClass) String() string { return c.Class + c.Subclass }

// parsePCIClass parses a sysfs class file ("0x030200\n").
func parsePCIClass(s string) (pciClass, error) {
	t := strings.TrimSpace(s)
	h, ok := strings.CutPrefix(strings.ToLower(t), "0x")
	if !ok || len(h) != 6 {
		return pciClass{}, fmt.Errorf("%q is not a PCI class code (like 0x030200)", t)
	}
	if _, err := strconv.ParseUint(h, 16, 32); err != nil {
		return pciClass{}, fmt.Errorf("%q is not a PCI class code (like 0x030200)", t)
	}
	return pciClass{Class: h[0:2], Subclass: h[2:4], ProgIf: h[4:6]}, nil
}

// modalias is what parseModalias reads from a sysfs modalias file.
type modalias struct {
	VendorID, DeviceID string
	Class              pciClass
}

// parseModalias parses a PCI modalias
// ("pci:v000010DEd00002330sv000010DEsd000016C1bc03sc02i00").
func parseModalias(s string) (modalias, error) {
	t := strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a PCI modalias (like pci:v000010DEd00002330sv000010DEsd000016C1bc03sc02i00)", t)
	rest, ok := strings.CutPrefix(t, "pci:")
	if !ok {
		return modalias{}, bad
	}
	var fields [7]string
	for i, tag := range []string{"v", "d", "sv", "sd", "bc", "sc", "i"} {
		width := 8
		if i >= 4 {
			width = 2
		}
		after, ok := strings.CutPrefix(rest, tag)
		if !ok || len(after) < width {
			return modalias{}, bad
		}
		f := strings.ToLower(after[:width])
		if _, err := strconv.ParseUint(f, 16, 32); err != nil {
			return modalias{}, bad
		}
		fields[i] = f
		rest = after[width:]
	}
	if rest != "" || fields[0][:4] != "0000" || fields[1][:4] != "0000" {
		return modalias{}, bad
	}
	return modalias{
		VendorID: fields[0][4:],
		DeviceID: fields[1][4:],
		Class:    pciClass{Class: fields[4], Subclass: fields[5], ProgIf: fields[6]},
	}, nil
}

// parseNUMANode parses a sysfs numa_node file; -1 (no affinity) is absent.
func parseNUMANode(s string) (node int, ok bool, err error) {
	t := strings.TrimSpace(s)
	n, err := strconv.Atoi(t)
	if err != nil || n < -1 {
		return 0, false, fmt.Errorf("%q is not a NUMA node number", t)
	}
	if n == -1 {
		return 0, false, nil
	}
	return n, true, nil
}

// parseBytes parses a decimal byte count such as amdgpu's
// mem_info_vram_total ("68702699520\n").
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a byte count", t)
	}
	return n, nil
}

// nvidiaInformation is what parseNvidiaInformation reads from one
// /proc/driver/nvidia/gpus/<address>/information file.
type nvidiaInformation struct {
	Model       string
	UUID        string
	BusLocation string
	// Minor is the N of /dev/nvidiaN, or -1 when the file does not say.
	Minor    int
	Excluded bool
}

// parseNvidiaInformation parses the "Key: value" lines of an NVIDIA
// information file. Unknown keys are ignored; missing ones stay empty (Minor
// -1). It fails only when no line has the "Key: value" form at all.
func parseNvidiaInformation(s string) (nvidiaInformation, error) {
	info := nvidiaInformation{Minor: -1}
	found := false
	for line := range strings.Lines(s) {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.TrimSpace(key)
		value = strings.TrimSpace(value)
		if key == "" {
			continue
		}
		found = true
		switch key {
		case "Model":
			info.Model = value
		case "GPU UUID":
			info.UUID = value
		case "Bus Location":
			info.BusLocation = value
		case "Device Minor":
			if n, err := strconv.Atoi(value); err == nil && n >= 0 && n < 1<<20 {
				info.Minor = n
			}
		case "GPU Excluded":
			info.Excluded = strings.EqualFold(value, "yes")
		}
	}
	if !found {
		return info, fmt.Errorf("no \"Key: value\" line (like \"Model: NVIDIA H100 80GB HBM3\")")
	}
	return info, nil
}

// parseNvidiaVersion returns the driver version from /proc/driver/nvidia/version
// ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar ...")
// or /sys/module/nvidia/version ("550.54.15"): the first word of the NVRM
// line, or of a one-line file, made of digits and dots with at least one dot.
func parseNvidiaVersion(s string) (string, error) {
	for line := range strings.Lines(s) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "NVRM version:")
		if !ok {
			continue
		}
		if v := firstVersionWord(rest); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("no version number in %q", strings.TrimSpace(line))
	}
	if t := strings.TrimSpace(s); !strings.ContainsAny(t, " \t\n") && isVersion(t) {
		return t, nil
	}
	return "", fmt.Errorf("no \"NVRM version:\" line")
}

// parseModuleVersion reads /sys/module/<driver>/version ("6.7.0", "550.54.15").
func parseModuleVersion(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" || len(t) > 64 || strings.ContainsAny(t, " \t\n") {
		return "", fmt.Errorf("%q is not a module version", t)
	}
	for _, r := range t {
		if r < 0x21 || r > 0x7e {
			return "", fmt.Errorf("%q is not a module version", t)
		}
	}
	return t, nil
}

func firstVersionWord(s string) string {
	for _, w := range strings.Fields(s) {
		if isVersion(w) {
			return w
		}
	}
	return ""
}

func isVersion(w string) bool {
	if w == "" || !strings.Contains(w, ".") || w[0] == '.' || w[len(w)-1] == '.' || strings.Contains(w, "..") {
		return false
	}
	for _, r := range w {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

// parseGPUCount parses the GPU_COUNT environment variable: a whole number
// of GPUs to expose. Empty means no limit.
func parseGPUCount(s string) (n int, set bool, err error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(t)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("GPU_COUNT=%q is not a whole number of GPUs (0, 1, 2, ...)", s)
	}
	return n, true, nil
}
