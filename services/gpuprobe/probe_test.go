package gpuprobe

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// envMap is an environment for Options.LookupEnv.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func fixtureRoot(name string) string { return filepath.Join("testdata", "fixtures", name) }

// probeFixture probes a fixture with the given environment (nothing else
// from the process environment is read).
func probeFixture(t *testing.T, fixture string, env map[string]string) *Report {
	t.Helper()
	r, err := Probe(context.Background(), Options{Root: fixtureRoot(fixture), LookupEnv: envMap(env)})
	if err != nil {
		t.Fatalf("Probe(%s): %v", fixture, err)
	}
	return r
}

const hostileValue = `0'"; touch "$MARK"; echo '$(touch "$MARK")` + "`touch \"$MARK\"`\n" + `\'`

// goldenCases are the fixtures of testdata/fixtures (see make-fixtures.sh),
// some under several environments. Each has testdata/golden/NAME.json
// (--json) and NAME.txt (the table and --env), and what a user relies on is
// also asserted here, so a golden file refreshed by mistake still fails.
var goldenCases = []struct {
	name, fixture string
	env           map[string]string
	target        XPUTarget
	vendor        Vendor
	count, gpus   int
	visible       map[string]string
	warnings      []string // substrings, one per warning, in order
}{
	{name: "no-gpu", fixture: "no-gpu", target: TargetCPU, vendor: VendorNone},
	{name: "nvidia-1x-h100", fixture: "nvidia-1x-h100", target: TargetNVIDIA, vendor: VendorNVIDIA, count: 1, gpus: 1},
	{name: "nvidia-8x-h100", fixture: "nvidia-8x-h100", target: TargetNVIDIA, vendor: VendorNVIDIA, count: 8, gpus: 8},
	{
		name: "nvidia-8x-h100.gpu-count-2", fixture: "nvidia-8x-h100", env: map[string]string{"GPU_COUNT": "2"},
		target: TargetNVIDIA, vendor: VendorNVIDIA, count: 2, gpus: 8,
		visible: map[string]string{"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "0,1", "NVIDIA_VISIBLE_DEVICES": "0,1"},
	},
	{
		name: "nvidia-8x-h100.gpu-count-16", fixture: "nvidia-8x-h100", env: map[string]string{"GPU_COUNT": "16"},
		target: TargetNVIDIA, vendor: VendorNVIDIA, count: 8, gpus: 8,
		visible:  map[string]string{"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7", "NVIDIA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"},
		warnings: []string{"GPU_COUNT=16 but only 8 NVIDIA GPU(s) available; exposing 8"},
	},
	{name: "nvidia-8x-h100-container", fixture: "nvidia-8x-h100-container", target: TargetNVIDIA, vendor: VendorNVIDIA, count: 2, gpus: 8},
	{
		name: "nvidia-8x-h100-container.user-vars", fixture: "nvidia-8x-h100-container",
		env:    map[string]string{"GPU_COUNT": "1", "CUDA_VISIBLE_DEVICES": hostileValue, "NVIDIA_VISIBLE_DEVICES": "all"},
		target: TargetNVIDIA, vendor: VendorNVIDIA, count: 1, gpus: 8,
		// The user's values are kept, and CUDA_DEVICE_ORDER is not added
		// under the user's CUDA_VISIBLE_DEVICES.
		visible: map[string]string{"CUDA_VISIBLE_DEVICES": hostileValue, "NVIDIA_VISIBLE_DEVICES": "all"},
	},
	{name: "amd-2x-mi300x", fixture: "amd-2x-mi300x", target: TargetAMD, vendor: VendorAMD, count: 2, gpus: 2},
	{
		name: "amd-2x-mi300x.gpu-count-0", fixture: "amd-2x-mi300x", env: map[string]string{"GPU_COUNT": "0"},
		target: TargetCPU, vendor: VendorAMD, count: 0, gpus: 2,
		visible: map[string]string{"HIP_VISIBLE_DEVICES": "-1", "ROCR_VISIBLE_DEVICES": "-1"},
	},
	{name: "intel-igpu", fixture: "intel-igpu", target: TargetCPU, vendor: VendorIntel, count: 0, gpus: 1},
	{
		name: "mixed-nvidia-intel", fixture: "mixed-nvidia-intel", env: map[string]string{"GPU_COUNT": "1"},
		target: TargetNVIDIA, vendor: VendorNVIDIA, count: 1, gpus: 2,
		visible: map[string]string{"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "0", "NVIDIA_VISIBLE_DEVICES": "0"},
	},
	{
		name: "broken", fixture: "broken", target: TargetNVIDIA, vendor: VendorNVIDIA, count: 1, gpus: 2,
		warnings: []string{
			`ghw: error finding modalias info for device "0000:03:00.0"`,
			`/sys/bus/pci/devices/0000:03:00.0/numa_node: "banana" is not a NUMA node number`,
			`skipping PCI device 0000:04:00.0: /sys/bus/pci/devices/0000:04:00.0/device: no such file or directory; /sys/bus/pci/devices/0000:04:00.0/class: "garbage" is not a PCI class code`,
			`/sys/bus/pci/devices/not-a-pci-address: "not-a-pci-address" is not a PCI address`,
			`/proc/driver/nvidia/version: no version number in "NVRM version: (garbled)"`,
			`/sys/bus/pci/devices/0000:05:00.0/mem_info_vram_total: "lots" is not a byte count`,
			`no pci.ids under the root`,
			`no /dev/kfd: ROCm cannot use the 1 AMD GPU(s)`,
			`/proc/driver/nvidia/gpus lists 0000:0a:00.0, which is not in /sys/bus/pci/devices`,
		},
	},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			r := probeFixture(t, tc.fixture, tc.env)

			if r.XPUTarget != tc.target || r.GPUVendor != tc.vendor || r.GPUCount != tc.count || len(r.GPUs) != tc.gpus {
				t.Errorf("got XPU_TARGET=%s GPU_VENDOR=%s GPU_COUNT=%d with %d GPUs listed; want %s %s %d with %d",
					r.XPUTarget, r.GPUVendor, r.GPUCount, len(r.GPUs), tc.target, tc.vendor, tc.count, tc.gpus)
			}
			gotVisible := map[string]string{}
			for k, v := range r.Visible {
				gotVisible[k] = v.Value
			}
			if len(gotVisible) != len(tc.visible) {
				t.Errorf("visible = %q, want %q", gotVisible, tc.visible)
			}
			for k, v := range tc.visible {
				if gotVisible[k] != v {
					t.Errorf("visible %s = %q, want %q", k, gotVisible[k], v)
				}
			}
			if len(r.Warnings) != len(tc.warnings) {
				t.Errorf("warnings:\n%s\nwant %d", strings.Join(r.Warnings, "\n"), len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if i < len(r.Warnings) && !strings.Contains(r.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, r.Warnings[i], w)
				}
			}
			exposed := 0
			for i, g := range r.GPUs {
				if g.Index != i {
					t.Errorf("gpus[%d].index = %d", i, g.Index)
				}
				if i > 0 && r.GPUs[i-1].PCIAddress >= g.PCIAddress {
					t.Errorf("gpus not in PCI order: %s before %s", r.GPUs[i-1].PCIAddress, g.PCIAddress)
				}
				if g.Exposed {
					if g.Ordinal == nil || *g.Ordinal != exposed {
						t.Errorf("exposed gpus[%d] has ordinal %v, want %d", i, g.Ordinal, exposed)
					}
					exposed++
				}
			}
			if exposed != r.GPUCount {
				t.Errorf("%d GPUs exposed, gpu_count %d", exposed, r.GPUCount)
			}

			r.Root = filepath.ToSlash(fixtureRoot(tc.fixture))
			var js, txt bytes.Buffer
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteTable(&txt); err != nil {
				t.Fatal(err)
			}
			txt.WriteString("\n")
			if err := r.WriteEnv(&txt); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name+".json", js.Bytes())
			checkGolden(t, tc.name+".txt", txt.Bytes())
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -run TestGolden -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestProbe_Fixtures checks per-GPU facts the golden files hold, by name.
func TestProbe_Fixtures(t *testing.T) {
	t.Run("nvidia-1x-h100", func(t *testing.T) {
		r := probeFixture(t, "nvidia-1x-h100", nil)
		g := r.GPUs[0]
		if g.Model != "NVIDIA H100 PCIe" || deref(g.PCIName) != "GH100 [H100 PCIe]" || deref(g.VendorName) != "NVIDIA Corporation" {
			t.Errorf("names: model %q, pci_name %v, vendor_name %v", g.Model, deref(g.PCIName), deref(g.VendorName))
		}
		if g.PCIAddress != "0000:18:00.0" || deref(g.Driver) != "nvidia" || deref(g.DriverVersion) != "550.54.15" || g.NUMANode == nil || *g.NUMANode != 0 {
			t.Errorf("pci/driver: %+v", g)
		}
		if deref(g.UUID) != "GPU-7b4c2f41-9d3e-4f0a-8c5b-1e2d3f4a5b6c" || g.MemoryBytes != nil || g.Accessible == nil || !*g.Accessible {
			t.Errorf("uuid %v, memory %v, accessible %v", deref(g.UUID), g.MemoryBytes, g.Accessible)
		}
		if strings.Join(g.DeviceNodes, " ") != "/dev/nvidia0" || strings.Join(r.SharedNodes, " ") != "/dev/nvidiactl /dev/nvidia-uvm /dev/nvidia-uvm-tools" {
			t.Errorf("nodes %q shared %q", g.DeviceNodes, r.SharedNodes)
		}
	})
	t.Run("nvidia-8x-h100 leaves out NVSwitches and lists the BMC apart", func(t *testing.T) {
		r := probeFixture(t, "nvidia-8x-h100", nil)
		for _, g := range r.GPUs {
			if g.DeviceID != "2330" {
				t.Errorf("non-GPU listed: %+v", g)
			}
		}
		if len(r.OtherDisplay) != 1 || r.OtherDisplay[0].PCIAddress != "0000:03:00.0" || deref(r.OtherDisplay[0].PCIName) != "ASPEED Graphics Family" {
			t.Errorf("other display devices: %+v", r.OtherDisplay)
		}
		if n := r.GPUs[7].NUMANode; n == nil || *n != 1 || strings.Join(r.GPUs[7].DeviceNodes, "") != "/dev/nvidia7" {
			t.Errorf("gpus[7]: numa %v nodes %q", n, r.GPUs[7].DeviceNodes)
		}
	})
	t.Run("nvidia-8x-h100-container counts only its own GPUs", func(t *testing.T) {
		r := probeFixture(t, "nvidia-8x-h100-container", nil)
		for i, g := range r.GPUs {
			own := i == 4 || i == 5
			if g.Accessible == nil || *g.Accessible != own || g.Exposed != own {
				t.Errorf("gpus[%d] %s: accessible %v exposed %v", i, g.PCIAddress, g.Accessible, g.Exposed)
			}
		}
		if *r.GPUs[4].Ordinal != 0 || *r.GPUs[5].Ordinal != 1 || r.GPUs[0].Ordinal != nil {
			t.Error("ordinals do not count the usable GPUs only")
		}
	})
	t.Run("amd-2x-mi300x", func(t *testing.T) {
		r := probeFixture(t, "amd-2x-mi300x", nil)
		g := r.GPUs[1]
		if g.PCIClass != "1200" || g.Model != "Aqua Vanjaram [Instinct MI300X]" || deref(g.DriverVersion) != "6.8.5" {
			t.Errorf("gpu: %+v", g)
		}
		if g.MemoryBytes == nil || *g.MemoryBytes != 206141652992 || deref(g.MemorySource) != "sysfs" {
			t.Errorf("memory %v from %v", g.MemoryBytes, deref(g.MemorySource))
		}
		if strings.Join(g.DeviceNodes, " ") != "/dev/dri/card2 /dev/dri/renderD129" || strings.Join(r.SharedNodes, " ") != "/dev/kfd" {
			t.Errorf("nodes %q shared %q", g.DeviceNodes, r.SharedNodes)
		}
	})
	t.Run("mixed-nvidia-intel numbers CUDA devices among NVIDIA GPUs", func(t *testing.T) {
		r := probeFixture(t, "mixed-nvidia-intel", nil)
		intel, nv := r.GPUs[0], r.GPUs[1]
		if intel.Vendor != VendorIntel || intel.Exposed || intel.Ordinal != nil || intel.NUMANode != nil {
			t.Errorf("intel: %+v", intel)
		}
		if nv.Vendor != VendorNVIDIA || !nv.Exposed || *nv.Ordinal != 0 || deref(nv.DriverVersion) != "560.35.03" {
			t.Errorf("nvidia: %+v", nv)
		}
	})
	t.Run("broken reports what it could read", func(t *testing.T) {
		r := probeFixture(t, "broken", nil)
		nv, amd := r.GPUs[0], r.GPUs[1]
		// No modalias and no pci.ids: ids from the sysfs files, model from
		// the driver; driver from the dangling link; no minor, no node.
		if nv.PCIAddress != "0000:03:00.0" || nv.DeviceID != "2331" || nv.Model != "NVIDIA H100 PCIe" || nv.PCIName != nil || deref(nv.Driver) != "nvidia" {
			t.Errorf("nvidia: %+v", nv)
		}
		if nv.NUMANode != nil || nv.DriverVersion != nil || nv.Accessible != nil || len(nv.DeviceNodes) != 0 {
			t.Errorf("nvidia: numa %v version %v accessible %v nodes %q", nv.NUMANode, nv.DriverVersion, nv.Accessible, nv.DeviceNodes)
		}
		if amd.Model != "unknown device 1002:74a1" || amd.MemoryBytes != nil || amd.Accessible == nil || *amd.Accessible {
			t.Errorf("amd: %+v", amd)
		}
	})
}

func TestProbe_Root(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		_, err := Probe(context.Background(), Options{Root: "testdata/no-such-root", LookupEnv: envMap(nil)})
		if err == nil || !strings.Contains(err.Error(), "root testdata/no-such-root: no such file or directory") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a file", func(t *testing.T) {
		_, err := Probe(context.Background(), Options{Root: "testdata/pci.ids", LookupEnv: envMap(nil)})
		if err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("empty directory", func(t *testing.T) {
		r, err := Probe(context.Background(), Options{Root: t.TempDir(), LookupEnv: envMap(nil)})
		if err != nil || r.XPUTarget != TargetCPU || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "no /sys/bus/pci/devices") {
			t.Errorf("report %+v, err %v", r, err)
		}
	})
}

func TestProbe_GPUCountInvalid(t *testing.T) {
	r := probeFixture(t, "nvidia-8x-h100", map[string]string{"GPU_COUNT": "two"})
	if r.GPUCount != 8 || r.GPUCountLimit != nil || len(r.Visible) != 0 {
		t.Errorf("gpu_count %d limit %+v visible %v", r.GPUCount, r.GPUCountLimit, r.Visible)
	}
	if len(r.Warnings) != 1 || r.Warnings[0] != `GPU_COUNT="two" is not a whole number of GPUs (0, 1, 2, ...); ignored, all usable GPUs exposed` {
		t.Errorf("warnings %q", r.Warnings)
	}
}

func TestProbe_GPUCountWithoutGPU(t *testing.T) {
	r := probeFixture(t, "no-gpu", map[string]string{"GPU_COUNT": "2", "CUDA_VISIBLE_DEVICES": "0"})
	if r.XPUTarget != TargetCPU || r.GPUCount != 0 || len(r.Visible) != 0 {
		t.Errorf("report %+v", r)
	}
	if l := r.GPUCountLimit; l == nil || *l != (Limit{Requested: 2, Available: 0, Applied: 0}) {
		t.Errorf("limit %+v", l)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "GPU_COUNT=2 but only 0 NVIDIA or AMD GPU(s) available") {
		t.Errorf("warnings %q", r.Warnings)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
