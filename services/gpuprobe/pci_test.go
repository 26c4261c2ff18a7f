package gpuprobe

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaypipes/pcidb"
)

// writeRoot makes a root holding the given files (path: content).
func writeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLoadPCIDB(t *testing.T) {
	excerpt, err := os.ReadFile("testdata/pci.ids")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("hwdata before misc", func(t *testing.T) {
		root := writeRoot(t, map[string]string{
			"usr/share/hwdata/pci.ids": "10de  From hwdata\n",
			"usr/share/misc/pci.ids":   "10de  From misc\n",
		})
		db, found, err := loadPCIDB(os.DirFS(root), root)
		if !found || err != nil || deref(pciNames{db}.vendor("10de")) != "From hwdata" {
			t.Errorf("found %v err %v", found, err)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		root := t.TempDir()
		p := filepath.Join(root, "usr/share/misc/pci.ids.gz")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		zw.Write(excerpt)
		zw.Close()
		f.Close()
		db, found, err := loadPCIDB(os.DirFS(root), root)
		if !found || err != nil || deref(pciNames{db}.product("10de", "2330")) != "GH100 [H100 SXM5 80GB]" {
			t.Errorf("found %v err %v", found, err)
		}
	})
	t.Run("malformed files are refused, not crashed on", func(t *testing.T) {
		for _, bad := range []string{
			"C\n",                     // class line too short
			"\t2330  GH100\n",         // device before any vendor
			"10de  NVIDIA\n\t23\n",    // device line too short
			"10de  NVIDIA\n\t\t10\n",  // subsystem before any device
			"10\n",                    // vendor line too short
			"10de  NVIDIA\r\n\t2\r\n", // CRLF does not hide a short line
		} {
			root := writeRoot(t, map[string]string{"usr/share/misc/pci.ids": bad})
			db, found, err := loadPCIDB(os.DirFS(root), root)
			if found || err == nil || db == nil || db.Vendors == nil {
				t.Errorf("%q: found %v err %v", bad, found, err)
			}
		}
	})
	t.Run("missing, with network fetch asked for in the environment", func(t *testing.T) {
		t.Setenv("PCIDB_ENABLE_NETWORK_FETCH", "1")
		r := probeFixture(t, "broken", nil)
		found := false
		for _, w := range r.Warnings {
			found = found || strings.HasPrefix(w, "no pci.ids under the root")
		}
		if !found {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
}

// FuzzValidatePCIIDs checks that whatever validatePCIIDs accepts, pcidb's
// parser reads without panicking (loadPCIDB relies on it).
func FuzzValidatePCIIDs(f *testing.F) {
	excerpt, err := os.ReadFile("testdata/pci.ids")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(excerpt))
	f.Add("C 03  Display\n\t02  3D\n\t\t00  x\n")
	f.Add("10de  NVIDIA\n\t2330  GH100\n\t\t10de 16c1  H100\n")
	f.Fuzz(func(t *testing.T, s string) {
		if validatePCIIDs(s) != nil {
			return
		}
		p := filepath.Join(t.TempDir(), "pci.ids")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		disabled := false
		if _, err := pcidb.New(pcidb.WithPath(p), &pcidb.WithOption{EnableNetworkFetch: &disabled}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestEnumeratePCI_Fallback: ghw drops the whole bus when one device lacks a
// modalias; every other device must still be read.
func TestEnumeratePCI_Fallback(t *testing.T) {
	root := writeRoot(t, map[string]string{
		// complete
		"sys/bus/pci/devices/0000:18:00.0/vendor":   "0x10de\n",
		"sys/bus/pci/devices/0000:18:00.0/device":   "0x2330\n",
		"sys/bus/pci/devices/0000:18:00.0/class":    "0x030200\n",
		"sys/bus/pci/devices/0000:18:00.0/modalias": "pci:v000010DEd00002330sv000010DEsd000016C1bc03sc02i00\n",
		// no modalias: ghw gives up
		"sys/bus/pci/devices/0000:2a:00.0/vendor": "0x10de\n",
		"sys/bus/pci/devices/0000:2a:00.0/device": "0x2330\n",
		"sys/bus/pci/devices/0000:2a:00.0/class":  "0x030200\n",
		// only a modalias
		"sys/bus/pci/devices/0000:3a:00.0/modalias": "pci:v000010DEd00002330sv000010DEsd000016C1bc03sc02i00\n",
	})
	w := &warnings{}
	db := &pcidb.PCIDB{Vendors: map[string]*pcidb.Vendor{}, Products: map[string]*pcidb.Product{}, Classes: map[string]*pcidb.Class{}}
	devs := enumeratePCI(context.Background(), os.DirFS(root), root, db, w)
	if len(devs) != 3 {
		t.Fatalf("devices %+v, warnings %q", devs, w.list)
	}
	for _, d := range devs {
		if d.VendorID != "10de" || d.DeviceID != "2330" || d.Class.String() != "0302" {
			t.Errorf("device %+v", d)
		}
	}
	if len(w.list) != 1 || !strings.HasPrefix(w.list[0], "ghw: ") {
		t.Errorf("warnings %q", w.list)
	}
}
