package gpuprobe

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/jaypipes/ghw"
	"github.com/jaypipes/pcidb"
)

// sysPCIDevices is where sysfs lists the PCI devices (symlinks named by
// address), relative to the root.
const sysPCIDevices = "sys/bus/pci/devices"

// pciIDsPaths are where images ship the pci.ids database (Debian's pci.ids
// and hwdata packages), in pcidb's search order, relative to the root.
var pciIDsPaths = []string{
	"usr/share/hwdata/pci.ids",
	"usr/share/misc/pci.ids",
	"usr/share/hwdata/pci.ids.gz",
	"usr/share/misc/pci.ids.gz",
}

// pciDevice is one PCI function as read from sysfs.
type pciDevice struct {
	Address  string
	VendorID string
	DeviceID string
	Class    pciClass
	Driver   string
	NUMANode *int
}

// pciNames looks names up in the pci.ids database.
type pciNames struct {
	db *pcidb.PCIDB
}

func (n pciNames) vendor(vendorID string) *string {
	if v := n.db.Vendors[vendorID]; v != nil && v.Name != "" {
		return &v.Name
	}
	return nil
}

func (n pciNames) product(vendorID, deviceID string) *string {
	if p := n.db.Products[vendorID+deviceID]; p != nil && p.Name != "" {
		return &p.Name
	}
	return nil
}

// loadPCIDB reads the pci.ids database under root (never from the network,
// never from the user's cache). found is false, with an empty database, when
// the root has none or it cannot be read; the reason is then in err.
func loadPCIDB(fsys fs.FS, root string) (db *pcidb.PCIDB, found bool, err error) {
	empty := &pcidb.PCIDB{Classes: map[string]*pcidb.Class{}, Vendors: map[string]*pcidb.Vendor{}, Products: map[string]*pcidb.Product{}}
	rel := ""
	for _, p := range pciIDsPaths {
		st, err := fs.Stat(fsys, p)
		if err != nil {
			continue
		}
		// pcidb reads the file whole, by itself: only a regular file of
		// a sane size is handed to it
		if !st.Mode().IsRegular() {
			return empty, false, fmt.Errorf("/%s: %w; device names unknown", p, notRegularError{st.Mode()})
		}
		if st.Size() > maxPCIIDs {
			return empty, false, fmt.Errorf("/%s: %w; device names unknown", p, tooLargeError{maxPCIIDs})
		}
		rel = p
		break
	}
	if rel == "" {
		return empty, false, fmt.Errorf("no pci.ids under the root (looked for /%s); install Debian's pci.ids package for device names", strings.Join(pciIDsPaths, ", /"))
	}
	// pcidb's parser indexes lines without checking their length and panics
	// on a malformed file, so check the file first and guard the call.
	if err := checkPCIIDs(fsys, rel); err != nil {
		return empty, false, fmt.Errorf("/%s: %w; device names unknown", rel, err)
	}
	disabled := false
	db, err = func() (db *pcidb.PCIDB, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("pcidb failed: %v", r)
			}
		}()
		return pcidb.New(
			pcidb.WithPath(filepath.Join(root, filepath.FromSlash(rel))),
			&pcidb.WithOption{EnableNetworkFetch: &disabled},
		)
	}()
	if err != nil {
		return empty, false, fmt.Errorf("/%s: %w; device names unknown", rel, err)
	}
	return db, true, nil
}

// checkPCIIDs rejects a pci.ids that pcidb's parser would crash on: lines
// shorter than their fields, or a device line before any vendor line.
func checkPCIIDs(fsys fs.FS, rel string) error {
	f, err := fsys.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(rel, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPCIIDs+1))
	if err != nil {
		return err
	}
	if len(data) > maxPCIIDs {
		// decompressed (a .gz bomb) or grown since the stat
		return tooLargeError{maxPCIIDs}
	}
	return validatePCIIDs(string(data))
}

// validatePCIIDs checks the line shapes that pcidb's parser relies on.
func validatePCIIDs(s string) error {
	inClass, haveVendor, haveProduct := false, false, false
	n := 0
	for line := range strings.Lines(s) {
		n++
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		runes := []rune(line)
		need := 0
		switch {
		case runes[0] == 'C':
			inClass, need = true, 6
		case runes[0] != '\t':
			inClass, haveVendor, haveProduct, need = false, true, false, 6
		case len(runes) > 1 && runes[1] != '\t':
			if !inClass {
				if !haveVendor {
					return fmt.Errorf("line %d: a device before any vendor", n)
				}
				haveProduct = true
			}
			need = 5
			if !inClass {
				need = 7
			}
		default:
			if !inClass && !haveProduct {
				return fmt.Errorf("line %d: a subsystem before any device", n)
			}
			need = 6
			if !inClass {
				need = 13
			}
		}
		if len(runes) < need {
			return fmt.Errorf("line %d: %q is too short", n, line)
		}
	}
	return nil
}

// enumeratePCI lists the PCI devices under root with ghw, then reads
// directly from sysfs any device that ghw could not give (ghw gives up on
// the whole bus at the first device whose modalias is missing or bad).
func enumeratePCI(ctx context.Context, fsys fs.FS, root string, db *pcidb.PCIDB, w *warnings) []pciDevice {
	entries, err := fs.ReadDir(fsys, sysPCIDevices)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			w.add("no /%s: cannot list PCI devices (is /sys mounted?)", sysPCIDevices)
		} else {
			w.add("listing /%s: %v", sysPCIDevices, unwrapPathError(err))
		}
		return nil
	}

	capture := &ghwWarnings{}
	fromGHW := map[string]pciDevice{}
	var info *ghw.PCIInfo
	if err := ghwSafe(fsys, entries); err != nil {
		w.add("%v; the PCI devices are read without ghw", err)
	} else if info, err = ghw.PCI(
		ctx,
		ghw.WithChroot(root),
		ghw.WithPCIDB(db),
		ghw.WithDisableTopology(),
		ghw.WithDisableTools(),
		ghw.WithLogger(slog.New(capture)),
	); err != nil {
		w.add("ghw: %v", err)
	}
	if info != nil {
		for _, d := range info.Devices {
			if d == nil || d.Vendor == nil || d.Product == nil || d.Class == nil || d.Subclass == nil || d.ProgrammingInterface == nil {
				continue
			}
			addr, err := parsePCIAddress(d.Address)
			if err != nil {
				continue
			}
			fromGHW[addr] = pciDevice{
				Address:  addr,
				VendorID: d.Vendor.ID,
				DeviceID: d.Product.ID,
				Class:    pciClass{Class: d.Class.ID, Subclass: d.Subclass.ID, ProgIf: d.ProgrammingInterface.ID},
				Driver:   d.Driver,
			}
		}
	}
	for _, msg := range capture.messages() {
		w.add("ghw: %s", msg)
	}

	var devs []pciDevice
	for _, e := range entries {
		addr, err := parsePCIAddress(e.Name())
		if err != nil {
			w.add("/%s/%s: %v; skipped", sysPCIDevices, e.Name(), err)
			continue
		}
		dir := path.Join(sysPCIDevices, e.Name())
		d, ok := fromGHW[addr]
		if !ok {
			d, err = readPCIDevice(fsys, dir, addr)
			if err != nil {
				w.add("skipping PCI device %s: %v", addr, err)
				continue
			}
		}
		if d.Driver == "" {
			// ghw needs the driver link to resolve; a snapshot may hold a
			// dangling one, whose name is all we want.
			if target, err := fs.ReadLink(fsys, path.Join(dir, "driver")); err == nil {
				d.Driver = path.Base(target)
			}
		}
		if isGPUClass(d.VendorID, d.Class) {
			// NUMA node is read here rather than by ghw, which reports it
			// only after reading the whole CPU topology.
			if data, err := fs.ReadFile(fsys, path.Join(dir, "numa_node")); err == nil {
				if n, ok, err := parseNUMANode(string(data)); err != nil {
					w.add("/%s/numa_node: %v", dir, err)
				} else if ok {
					d.NUMANode = &n
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				w.add("/%s/numa_node: %v", dir, unwrapPathError(err))
			}
		}
		devs = append(devs, d)
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i].Address < devs[j].Address })
	return devs
}

// ghwReads are the files of a PCI device that ghw reads whole by itself
// (with topology disabled, numa_node is not among them).
var ghwReads = []string{"modalias", "revision"}

// ghwSafe says why ghw must not be let loose on the devices: one of the
// files it would read is not a regular file of a sysfs attribute's size.
func ghwSafe(fsys fs.FS, entries []fs.DirEntry) error {
	for _, e := range entries {
		for _, name := range ghwReads {
			if err := checkAttrFile(fsys, path.Join(sysPCIDevices, e.Name(), name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// readPCIDevice reads one device's ids from its sysfs files (vendor, device,
// class), or from its modalias when those are missing.
func readPCIDevice(fsys fs.FS, dir, addr string) (pciDevice, error) {
	d := pciDevice{Address: addr}
	var errs []error
	read := func(name string, parse func(string) error) {
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("/%s/%s: %w", dir, name, unwrapPathError(err)))
			return
		}
		if err := parse(string(data)); err != nil {
			errs = append(errs, fmt.Errorf("/%s/%s: %w", dir, name, err))
		}
	}
	read("vendor", func(s string) (err error) { d.VendorID, err = parseHexID(s); return })
	read("device", func(s string) (err error) { d.DeviceID, err = parseHexID(s); return })
	read("class", func(s string) (err error) { d.Class, err = parsePCIClass(s); return })
	if len(errs) == 0 {
		return d, nil
	}
	if data, err := fs.ReadFile(fsys, path.Join(dir, "modalias")); err == nil {
		if m, err := parseModalias(string(data)); err == nil {
			d.VendorID, d.DeviceID, d.Class = m.VendorID, m.DeviceID, m.Class
			return d, nil
		}
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return pciDevice{}, errors.New(strings.Join(msgs, "; "))
}

// unwrapPathError drops the path of an *fs.PathError (ours is relative to
// the root; the message names the file itself).
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isGPUClass says whether a device is a GPU candidate: any display
// controller (class 03: VGA, XGA, 3D, other display), or a processing
// accelerator (class 12) from a GPU maker (AMD Instinct MI300 reports 1200).
func isGPUClass(vendorID string, c pciClass) bool {
	switch c.Class {
	case "03":
		return true
	case "12":
		v := vendorOf(vendorID)
		return v == VendorNVIDIA || v == VendorAMD
	}
	return false
}

// vendorOf maps a PCI vendor id to the vendors gpu-probe tells apart.
func vendorOf(vendorID string) Vendor {
	switch vendorID {
	case "10de":
		return VendorNVIDIA
	case "1002":
		return VendorAMD
	case "8086":
		return VendorIntel
	}
	return VendorOther
}

// ghwWarnings is a slog handler that keeps ghw's warnings for the report
// instead of letting ghw print them.
type ghwWarnings struct {
	mu   sync.Mutex
	msgs []string
}

func (h *ghwWarnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *ghwWarnings) Handle(_ context.Context, r slog.Record) error {
	// We disable ghw's topology on purpose (see enumeratePCI).
	if strings.HasPrefix(r.Message, "topology detection disabled") {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Message)
	return nil
}

func (h *ghwWarnings) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *ghwWarnings) WithGroup(string) slog.Handler      { return h }

func (h *ghwWarnings) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}
