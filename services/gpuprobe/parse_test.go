package gpuprobe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParsePCIAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0000:18:00.0", "0000:18:00.0"},
		{"0000:18:00.0\n", "0000:18:00.0"},
		{"00000000:9A:00.0", "0000:9a:00.0"}, // nvidia-smi
		{"0000:0C:00.0", "0000:0c:00.0"},     // rocm-smi
		{"10000:e1:00.0", "10000:e1:00.0"},   // Intel VMD domain
		{"0001:00:1f.7", "0001:00:1f.7"},
	} {
		got, err := parsePCIAddress(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parsePCIAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "garbage", "0000:18:00", "0000:18:00.8", "0000:18:20.0", "0000:1g:00.0", ":18:00.0", "000000000:18:00.0", "0000:18:00.0.1", "+000:18:00.0"} {
		if got, err := parsePCIAddress(in); err == nil {
			t.Errorf("parsePCIAddress(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseSysfsValues(t *testing.T) {
	t.Run("hex id", func(t *testing.T) {
		if got, err := parseHexID("0x10DE\n"); err != nil || got != "10de" {
			t.Errorf("parseHexID = %q, %v", got, err)
		}
		for _, in := range []string{"10de", "0x", "0x10de0", "0xzz", ""} {
			if _, err := parseHexID(in); err == nil {
				t.Errorf("parseHexID(%q): want an error", in)
			}
		}
	})
	t.Run("class", func(t *testing.T) {
		got, err := parsePCIClass("0x030200\n")
		if err != nil || got != (pciClass{"03", "02", "00"}) || got.String() != "0302" {
			t.Errorf("parsePCIClass = %+v, %v", got, err)
		}
		for _, in := range []string{"garbage", "0x0302", "030200", "0x03020g", ""} {
			if _, err := parsePCIClass(in); err == nil {
				t.Errorf("parsePCIClass(%q): want an error", in)
			}
		}
	})
	t.Run("modalias", func(t *testing.T) {
		got, err := parseModalias("pci:v000010DEd00002330sv000010DEsd000016C1bc03sc02i00\n")
		want := modalias{VendorID: "10de", DeviceID: "2330", Class: pciClass{"03", "02", "00"}}
		if err != nil || got != want {
			t.Errorf("parseModalias = %+v, %v; want %+v", got, err, want)
		}
		for _, in := range []string{"", "pci:", "usb:v1D6Bp0002", "pci:v000010DEd00002330sv000010DEsd000016C1bc03sc02", "pci:v000010DEd00002330sv000010DEsd000016C1bc03sc02i00x", "pci:v100010DEd00002330sv000010DEsd000016C1bc03sc02i00"} {
			if _, err := parseModalias(in); err == nil {
				t.Errorf("parseModalias(%q): want an error", in)
			}
		}
	})
	t.Run("numa node", func(t *testing.T) {
		if n, ok, err := parseNUMANode("1\n"); n != 1 || !ok || err != nil {
			t.Errorf("parseNUMANode(1) = %d, %v, %v", n, ok, err)
		}
		if _, ok, err := parseNUMANode("-1\n"); ok || err != nil {
			t.Errorf("parseNUMANode(-1) = %v, %v; want absent, no error", ok, err)
		}
		for _, in := range []string{"banana", "-2", ""} {
			if _, _, err := parseNUMANode(in); err == nil {
				t.Errorf("parseNUMANode(%q): want an error", in)
			}
		}
	})
	t.Run("bytes", func(t *testing.T) {
		if n, err := parseBytes("206141652992\n"); n != 206141652992 || err != nil {
			t.Errorf("parseBytes = %d, %v", n, err)
		}
		for _, in := range []string{"lots", "-1", "1e9", "99999999999999999999"} {
			if _, err := parseBytes(in); err == nil {
				t.Errorf("parseBytes(%q): want an error", in)
			}
		}
	})
	t.Run("module version", func(t *testing.T) {
		if v, err := parseModuleVersion("6.8.5\n"); v != "6.8.5" || err != nil {
			t.Errorf("parseModuleVersion = %q, %v", v, err)
		}
		for _, in := range []string{"", "6.8 5", "a\x01b"} {
			if _, err := parseModuleVersion(in); err == nil {
				t.Errorf("parseModuleVersion(%q): want an error", in)
			}
		}
	})
}

// A real information file's layout (values made up).
const h100Information = "Model: \t\t NVIDIA H100 80GB HBM3\n" +
	"IRQ:   \t\t 144\n" +
	"GPU UUID: \t GPU-7b4c2f41-9d3e-4f0a-8c5b-1e2d3f4a5b6c\n" +
	"Video BIOS: \t 96.00.74.00.01\n" +
	"Bus Type: \t PCIe\n" +
	"DMA Size: \t 52 bits\n" +
	"DMA Mask: \t 0xfffffffffffff\n" +
	"Bus Location: \t 0000:18:00.0\n" +
	"Device Minor: \t 3\n" +
	"GPU Excluded:\t No\n"

func TestParseNvidiaInformation(t *testing.T) {
	got, err := parseNvidiaInformation(h100Information)
	want := nvidiaInformation{
		Model:       "NVIDIA H100 80GB HBM3",
		UUID:        "GPU-7b4c2f41-9d3e-4f0a-8c5b-1e2d3f4a5b6c",
		BusLocation: "0000:18:00.0",
		Minor:       3,
	}
	if err != nil || got != want {
		t.Errorf("parseNvidiaInformation = %+v, %v\nwant %+v", got, err, want)
	}

	t.Run("excluded", func(t *testing.T) {
		got, _ := parseNvidiaInformation(strings.Replace(h100Information, "Excluded:\t No", "Excluded:\t Yes", 1))
		if !got.Excluded {
			t.Error("GPU Excluded: Yes not read")
		}
	})
	t.Run("truncated", func(t *testing.T) {
		got, err := parseNvidiaInformation("Model: \t\t NVIDIA H100 PCIe\nIRQ:")
		if err != nil || got.Model != "NVIDIA H100 PCIe" || got.Minor != -1 || got.UUID != "" {
			t.Errorf("truncated file = %+v, %v", got, err)
		}
	})
	t.Run("bad minor", func(t *testing.T) {
		got, _ := parseNvidiaInformation("Device Minor: \t -4\n")
		if got.Minor != -1 {
			t.Errorf("Minor = %d, want -1 (unknown)", got.Minor)
		}
	})
	t.Run("no key value lines", func(t *testing.T) {
		if _, err := parseNvidiaInformation("\x00\x01garbage\n"); err == nil {
			t.Error("want an error")
		}
	})
}

func TestParseNvidiaVersion(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"proprietary", "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n", "550.54.15"},
		{"open", "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  560.35.03  Release Build  (dvs-builder@U16-I3-A03-3-1)  Fri Aug 16 21:21:48 UTC 2024\n", "560.35.03"},
		{"aarch64", "NVRM version: NVIDIA UNIX aarch64 Kernel Module  535.161.08  Tue Mar  5 22:42:15 UTC 2024\n", "535.161.08"},
		{"sys/module", "550.54.15\n", "550.54.15"},
	} {
		got, err := parseNvidiaVersion(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s: parseNvidiaVersion = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "NVRM version: (garbled)", "GCC version: 12.2.0", "550", "1.2 3.4"} {
		if got, err := parseNvidiaVersion(in); err == nil {
			t.Errorf("parseNvidiaVersion(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseGPUCount(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n       int
		set, ok bool
	}{
		{"", 0, false, true},
		{"  ", 0, false, true},
		{"0", 0, true, true},
		{"2", 2, true, true},
		{" 8\n", 8, true, true},
		{"-1", 0, false, false},
		{"two", 0, false, false},
		{"1.5", 0, false, false},
		{"99999999999999999999999", 0, false, false},
	} {
		n, set, err := parseGPUCount(tc.in)
		if n != tc.n || set != tc.set || (err == nil) != tc.ok {
			t.Errorf("parseGPUCount(%q) = %d, %v, %v", tc.in, n, set, err)
		}
	}
}

func FuzzParsePCIAddress(f *testing.F) {
	for _, s := range []string{"0000:18:00.0", "00000000:9A:00.0", "10000:e1:00.0", "x:yy:zz.w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parsePCIAddress(s)
		if err != nil {
			return
		}
		// A normalised address parses to itself.
		again, err := parsePCIAddress(got)
		if err != nil || again != got {
			t.Fatalf("parsePCIAddress(%q) = %q, which reparses as %q, %v", s, got, again, err)
		}
	})
}

func FuzzParseSysfs(f *testing.F) {
	for _, s := range []string{"0x10de\n", "0x030200\n", "pci:v000010DEd00002330sv000010DEsd000016C1bc03sc02i00\n", "-1\n", "206141652992\n", "6.8.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if id, err := parseHexID(s); err == nil && len(id) != 4 {
			t.Fatalf("parseHexID(%q) = %q", s, id)
		}
		if c, err := parsePCIClass(s); err == nil && len(c.Class+c.Subclass+c.ProgIf) != 6 {
			t.Fatalf("parsePCIClass(%q) = %+v", s, c)
		}
		if m, err := parseModalias(s); err == nil && (len(m.VendorID) != 4 || len(m.DeviceID) != 4) {
			t.Fatalf("parseModalias(%q) = %+v", s, m)
		}
		if n, ok, err := parseNUMANode(s); err == nil && ok && n < 0 {
			t.Fatalf("parseNUMANode(%q) = %d", s, n)
		}
		if n, err := parseBytes(s); err == nil && n < 0 {
			t.Fatalf("parseBytes(%q) = %d", s, n)
		}
		if v, err := parseModuleVersion(s); err == nil && strings.ContainsAny(v, " \t\n") {
			t.Fatalf("parseModuleVersion(%q) = %q", s, v)
		}
	})
}

func FuzzParseNvidiaInformation(f *testing.F) {
	f.Add(h100Information)
	f.Add("Model: \t\t NVIDIA H100 PCIe\nIRQ:")
	f.Add("Device Minor: 99999999999999999999\n")
	f.Fuzz(func(t *testing.T, s string) {
		info, err := parseNvidiaInformation(s)
		if err != nil {
			return
		}
		if info.Minor < -1 {
			t.Fatalf("Minor = %d", info.Minor)
		}
		for _, v := range []string{info.Model, info.UUID, info.BusLocation} {
			if v != strings.TrimSpace(v) || strings.Contains(v, "\n") {
				t.Fatalf("value %q not trimmed to one line", v)
			}
		}
	})
}

func FuzzParseNvidiaVersion(f *testing.F) {
	f.Add("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n")
	f.Add("550.54.15")
	f.Add("NVRM version: 1..2")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseNvidiaVersion(s)
		if err != nil {
			return
		}
		if !isVersion(v) || !utf8.ValidString(v) {
			t.Fatalf("parseNvidiaVersion(%q) = %q, not a version", s, v)
		}
	})
}
