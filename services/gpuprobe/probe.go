package gpuprobe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Options says what to probe and how.
type Options struct {
	// Root is the directory every file is read under, so that a snapshot
	// of another machine can be probed ("/" when empty).
	Root string
	// LookupEnv reads the environment: GPU_COUNT, the visible-device
	// variables, and PATH for the --live tools. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Live asks nvidia-smi / rocm-smi for memory and utilisation.
	Live bool
	// LiveTimeout bounds each tool (DefaultLiveTimeout when zero).
	LiveTimeout time.Duration
	// RunTool runs the --live tools; nil runs the programs found in PATH.
	RunTool ToolRunner
}

// Probe finds the GPUs under opts.Root and decides what to expose. It fails
// only when the root is not a readable directory: anything missing or
// unreadable below it is left out of the report and explained in
// Report.Warnings.
func Probe(ctx context.Context, opts Options) (*Report, error) {
	lookupEnv := opts.LookupEnv
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	root := opts.Root
	if root == "" {
		root = "/"
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", root, unwrapPathError(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("root %s: not a directory", root)
	}
	fsys := rootFS{abs} // reads bounded, never blocking (rootfs.go)
	w := &warnings{}

	db, dbFound, dbErr := loadPCIDB(fsys, abs)
	names := pciNames{db}
	devs := enumeratePCI(ctx, fsys, abs, db, w)
	nv := readNvidiaDriver(fsys, w)
	amd := readAMDDriver(fsys)

	r := &Report{
		SchemaVersion: SchemaVersion,
		Root:          abs,
		GPUs:          []GPU{},
		OtherDisplay:  []DisplayDevice{},
		SharedNodes:   []string{},
		Visible:       map[string]VisibleVar{},
	}
	onBus := map[string]bool{}
	amdWithoutKFD := 0
	for _, d := range devs {
		onBus[d.Address] = true
		if !isGPUClass(d.VendorID, d.Class) {
			continue
		}
		v := vendorOf(d.VendorID)
		if v == VendorOther {
			r.OtherDisplay = append(r.OtherDisplay, DisplayDevice{
				PCIAddress: d.Address,
				VendorID:   d.VendorID,
				VendorName: names.vendor(d.VendorID),
				DeviceID:   d.DeviceID,
				PCIName:    names.product(d.VendorID, d.DeviceID),
				PCIClass:   d.Class.String(),
				Driver:     optString(d.Driver),
			})
			continue
		}
		g := buildGPU(fsys, d, v, names, nv, amd, w)
		if v == VendorAMD && !amd.kfd {
			amdWithoutKFD++
		}
		r.GPUs = append(r.GPUs, g)
	}
	if !dbFound && len(r.GPUs)+len(r.OtherDisplay) > 0 {
		w.add("%v", dbErr)
	}
	if amdWithoutKFD > 0 {
		w.add("no /dev/kfd: ROCm cannot use the %d AMD GPU(s) (amdgpu not loaded, or /dev/kfd not passed to the container)", amdWithoutKFD)
	}
	for _, addr := range sortedKeys(nv.gpus) {
		if !onBus[addr] {
			w.add("/proc/driver/nvidia/gpus lists %s, which is not in /%s; left out", addr, sysPCIDevices)
		}
	}
	for _, p := range sharedNodes {
		if exists(fsys, p) {
			r.SharedNodes = append(r.SharedNodes, "/"+p)
		}
	}
	if opts.Live {
		addLive(ctx, r, opts, lookupEnv, w)
	}
	decide(r, lookupEnv, w)
	r.Warnings = w.list
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	return r, nil
}

// sharedNodes are device nodes that serve every GPU of a vendor.
var sharedNodes = []string{
	"dev/nvidiactl", "dev/nvidia-uvm", "dev/nvidia-uvm-tools", "dev/nvidia-modeset", "dev/kfd",
}

// warnings collects what could not be read, in the order it was met.
type warnings struct{ list []string }

func (w *warnings) add(format string, args ...any) {
	w.list = append(w.list, fmt.Sprintf(format, args...))
}

// nvidiaDriver is what the NVIDIA kernel driver says under /proc.
type nvidiaDriver struct {
	// procPresent: /proc/driver/nvidia/gpus exists, so the driver is
	// loaded and lists the GPUs this container may use.
	procPresent bool
	version     string
	gpus        map[string]nvidiaInformation
	// anyNode: some /dev/nvidiaN exists.
	anyNode bool
}

const (
	nvidiaProcGPUs    = "proc/driver/nvidia/gpus"
	nvidiaProcVersion = "proc/driver/nvidia/version"
)

var nvidiaNodeName = regexp.MustCompile(`^nvidia[0-9]+$`)

func readNvidiaDriver(fsys fs.FS, w *warnings) nvidiaDriver {
	nv := nvidiaDriver{gpus: map[string]nvidiaInformation{}}
	if data, err := fs.ReadFile(fsys, nvidiaProcVersion); err == nil {
		if v, err := parseNvidiaVersion(string(data)); err != nil {
			w.add("/%s: %v", nvidiaProcVersion, err)
		} else {
			nv.version = v
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		w.add("/%s: %v", nvidiaProcVersion, unwrapPathError(err))
	} else if data, err := fs.ReadFile(fsys, "sys/module/nvidia/version"); err == nil {
		if v, err := parseModuleVersion(string(data)); err == nil {
			nv.version = v
		}
	}
	entries, err := fs.ReadDir(fsys, nvidiaProcGPUs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.add("/%s: %v", nvidiaProcGPUs, unwrapPathError(err))
	}
	nv.procPresent = err == nil
	for _, e := range entries {
		addr, err := parsePCIAddress(e.Name())
		if err != nil {
			w.add("/%s/%s: %v; skipped", nvidiaProcGPUs, e.Name(), err)
			continue
		}
		file := path.Join(nvidiaProcGPUs, e.Name(), "information")
		info := nvidiaInformation{Minor: -1}
		if data, err := fs.ReadFile(fsys, file); err != nil {
			w.add("/%s: %v", file, unwrapPathError(err))
		} else if info, err = parseNvidiaInformation(string(data)); err != nil {
			w.add("/%s: %v", file, err)
		}
		nv.gpus[addr] = info
	}
	if devs, err := fs.ReadDir(fsys, "dev"); err == nil {
		for _, e := range devs {
			if nvidiaNodeName.MatchString(e.Name()) {
				nv.anyNode = true
			}
		}
	}
	return nv
}

// amdDriver is what the amdgpu driver offers: /dev/kfd (ROCm's compute
// node) and, with the DKMS driver, its version.
type amdDriver struct {
	kfd     bool
	version string
}

func readAMDDriver(fsys fs.FS) amdDriver {
	a := amdDriver{kfd: exists(fsys, "dev/kfd")}
	if data, err := fs.ReadFile(fsys, "sys/module/amdgpu/version"); err == nil {
		if v, err := parseModuleVersion(string(data)); err == nil {
			a.version = v
		}
	}
	return a
}

// buildGPU fills one GPU from its PCI device and its driver's files.
func buildGPU(fsys fs.FS, d pciDevice, v Vendor, names pciNames, nv nvidiaDriver, amd amdDriver, w *warnings) GPU {
	g := GPU{
		Vendor:      v,
		VendorID:    d.VendorID,
		VendorName:  names.vendor(d.VendorID),
		DeviceID:    d.DeviceID,
		PCIName:     names.product(d.VendorID, d.DeviceID),
		PCIClass:    d.Class.String(),
		PCIAddress:  d.Address,
		NUMANode:    d.NUMANode,
		Driver:      optString(d.Driver),
		DeviceNodes: []string{},
	}
	dir := path.Join(sysPCIDevices, d.Address)
	drm := drmNames(fsys, dir)
	model := ""
	switch v {
	case VendorNVIDIA:
		info, inProc := nv.gpus[d.Address]
		if (inProc || d.Driver == "nvidia") && nv.version != "" {
			g.DriverVersion = optString(nv.version)
		}
		if inProc {
			model = info.Model
			g.UUID = optString(info.UUID)
			if info.Minor >= 0 {
				if node := fmt.Sprintf("dev/nvidia%d", info.Minor); exists(fsys, node) {
					g.DeviceNodes = append(g.DeviceNodes, "/"+node)
				}
			}
		}
		g.Accessible = nvidiaAccess(fsys, nv, info, inProc)
	case VendorAMD:
		if d.Driver == "amdgpu" && amd.version != "" {
			g.DriverVersion = optString(amd.version)
		}
		file := path.Join(dir, "mem_info_vram_total")
		if data, err := fs.ReadFile(fsys, file); err == nil {
			if n, err := parseBytes(string(data)); err != nil {
				w.add("/%s: %v", file, err)
			} else {
				g.MemoryBytes = &n
				g.MemorySource = optString("sysfs")
			}
		}
		g.Accessible = drmAccess(fsys, drm)
		if !amd.kfd {
			g.Accessible = optBool(false)
		}
	case VendorIntel:
		g.Accessible = drmAccess(fsys, drm)
	}
	for _, name := range drm {
		if node := "dev/dri/" + name; exists(fsys, node) {
			g.DeviceNodes = append(g.DeviceNodes, "/"+node)
		}
	}
	switch {
	case model != "":
		g.Model = model
	case g.PCIName != nil:
		g.Model = *g.PCIName
	default:
		g.Model = fmt.Sprintf("unknown device %s:%s", d.VendorID, d.DeviceID)
	}
	return g
}

// nvidiaAccess tells whether this container can use an NVIDIA GPU. A
// container sees every GPU of its host on the PCI bus, but the NVIDIA
// container runtime gives it only its own GPUs' /proc/driver/nvidia/gpus
// entries and /dev/nvidiaN nodes.
func nvidiaAccess(fsys fs.FS, nv nvidiaDriver, info nvidiaInformation, inProc bool) *bool {
	switch {
	case !nv.procPresent:
		return nil // driver not loaded, or /proc not in the snapshot
	case !inProc, info.Excluded:
		return optBool(false)
	case info.Minor < 0:
		return nil
	case exists(fsys, fmt.Sprintf("dev/nvidia%d", info.Minor)):
		return optBool(true)
	case nv.anyNode:
		return optBool(false)
	default:
		return nil // no node at all: not created yet (nvidia-modprobe)
	}
}

// drmAccess tells whether this container has a GPU's render node: a
// container is given only its GPUs' /dev/dri nodes.
func drmAccess(fsys fs.FS, drm []string) *bool {
	render := ""
	for _, n := range drm {
		if strings.HasPrefix(n, "renderD") {
			render = n
			break
		}
	}
	if render == "" {
		return nil
	}
	if exists(fsys, "dev/dri/"+render) {
		return optBool(true)
	}
	if nodes, err := fs.ReadDir(fsys, "dev/dri"); err == nil {
		for _, e := range nodes {
			if strings.HasPrefix(e.Name(), "renderD") {
				return optBool(false)
			}
		}
	}
	return nil
}

var drmNodeName = regexp.MustCompile(`^(card|renderD)[0-9]+$`)

// drmNames lists a PCI device's DRM nodes (card1, renderD128) from sysfs.
func drmNames(fsys fs.FS, dir string) []string {
	entries, err := fs.ReadDir(fsys, path.Join(dir, "drm"))
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if drmNodeName.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool {
		// cards before render nodes, each in number order
		a, b := names[i], names[j]
		if (a[0] == 'c') != (b[0] == 'c') {
			return a[0] == 'c'
		}
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	})
	return names
}

// addLive asks nvidia-smi / rocm-smi (when the report has GPUs of theirs)
// for memory and utilisation, and attaches the answers by PCI address.
func addLive(ctx context.Context, r *Report, opts Options, lookupEnv func(string) (string, bool), w *warnings) {
	run := opts.RunTool
	if run == nil {
		run = execRunner(lookupEnv)
	}
	timeout := opts.LiveTimeout
	if timeout <= 0 {
		timeout = DefaultLiveTimeout
	}
	tools := []struct {
		vendor Vendor
		name   string
		args   []string
		parse  func(string) (map[string]Live, []error)
	}{
		{VendorNVIDIA, "nvidia-smi", nvidiaSMIArgs, parseNvidiaSMI},
		{VendorAMD, "rocm-smi", rocmSMIArgs, parseRocmSMI},
	}
	for _, t := range tools {
		var gpus []*GPU
		for i := range r.GPUs {
			if r.GPUs[i].Vendor == t.vendor {
				gpus = append(gpus, &r.GPUs[i])
			}
		}
		if len(gpus) == 0 {
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, timeout)
		out, err := run(tctx, t.name, t.args...)
		cancel()
		switch {
		case errors.Is(err, ErrToolNotFound):
			continue
		case errors.Is(err, context.DeadlineExceeded):
			w.add("%s: no answer within %s; no live data", t.name, timeout)
			continue
		case err != nil:
			w.add("%s: %v; no live data", t.name, err)
			continue
		}
		stats, errs := t.parse(string(out))
		for _, err := range errs {
			w.add("%s output: %v", t.name, err)
		}
		matched := map[string]bool{}
		for _, g := range gpus {
			s, ok := stats[g.PCIAddress]
			if !ok {
				continue
			}
			matched[g.PCIAddress] = true
			g.Live = &s
			if g.MemoryBytes == nil && s.MemoryTotalBytes != nil {
				g.MemoryBytes = s.MemoryTotalBytes
				g.MemorySource = optString(s.Source)
			}
		}
		for _, addr := range sortedKeys(stats) {
			if !matched[addr] {
				w.add("%s reports GPU %s, which is not among the GPUs found under the root; ignored", t.name, addr)
			}
		}
	}
}

// visibleVars are the variables that limit the GPUs a vendor's runtime
// sees, in the order they are set.
var visibleVars = map[Vendor][]string{
	VendorNVIDIA: {"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"},
	VendorAMD:    {"HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"},
}

// decide numbers the GPUs, picks XPU_TARGET, applies GPU_COUNT and sets the
// visible-device variables.
func decide(r *Report, lookupEnv func(string) (string, bool), w *warnings) {
	usable := map[Vendor][]*GPU{}
	for i := range r.GPUs {
		g := &r.GPUs[i]
		g.Index = i
		if g.Accessible != nil && !*g.Accessible {
			continue
		}
		if g.Vendor == VendorNVIDIA || g.Vendor == VendorAMD {
			n := len(usable[g.Vendor])
			g.Ordinal = &n
		}
		usable[g.Vendor] = append(usable[g.Vendor], g)
	}

	vendor, target := VendorNone, TargetCPU
	switch {
	case len(usable[VendorNVIDIA]) > 0:
		vendor, target = VendorNVIDIA, TargetNVIDIA
		if len(usable[VendorAMD]) > 0 {
			w.add("both NVIDIA and AMD GPUs are usable; targeting NVIDIA (AMD GPUs not exposed)")
		}
	case len(usable[VendorAMD]) > 0:
		vendor, target = VendorAMD, TargetAMD
	default:
		for _, g := range r.GPUs {
			if g.Accessible == nil || *g.Accessible {
				vendor = g.Vendor
				break
			}
		}
	}
	r.GPUVendor = vendor
	candidates := usable[vendor]
	if target == TargetCPU {
		candidates = nil
	}
	n := len(candidates)

	raw, _ := lookupEnv("GPU_COUNT")
	want, limited, err := parseGPUCount(raw)
	if err != nil {
		w.add("%v; ignored, all usable GPUs exposed", err)
	}
	if limited {
		applied := min(want, n)
		r.GPUCountLimit = &Limit{Requested: want, Available: n, Applied: applied}
		if want > n {
			what := "NVIDIA or AMD GPU(s)"
			if target != TargetCPU {
				what = strings.ToUpper(string(vendor)) + " GPU(s)"
			}
			w.add("GPU_COUNT=%d but only %d %s available; exposing %d", want, n, what, applied)
		}
		n = applied
	}
	for _, g := range candidates[:n] {
		g.Exposed = true
	}
	r.GPUCount = n
	r.XPUTarget = target
	if n == 0 {
		r.XPUTarget = TargetCPU
	}

	if target == TargetCPU {
		return
	}
	for _, name := range visibleVars[vendor] {
		if v, ok := lookupEnv(name); ok {
			r.Visible[name] = VisibleVar{Value: v, Source: SourceEnvironment}
		} else if limited {
			r.Visible[name] = VisibleVar{Value: visibleValue(name, n), Source: SourceGPUCount}
		}
	}
	if vendor == VendorNVIDIA {
		// CUDA numbers GPUs fastest first unless told PCI_BUS_ID, and our
		// ordinals are in PCI order; a CUDA_VISIBLE_DEVICES of the user's
		// keeps the order the user chose it for.
		if v, ok := lookupEnv("CUDA_DEVICE_ORDER"); ok {
			r.Visible["CUDA_DEVICE_ORDER"] = VisibleVar{Value: v, Source: SourceEnvironment}
		} else if c, ok := r.Visible["CUDA_VISIBLE_DEVICES"]; ok && c.Source == SourceGPUCount && n > 0 {
			r.Visible["CUDA_DEVICE_ORDER"] = VisibleVar{Value: "PCI_BUS_ID", Source: SourceGPUCount}
		}
	}
}

// visibleValue is the value that exposes the first n GPUs: "0,1,...,n-1",
// or for none "-1" (an invalid ordinal hides every GPU after it) and
// "none" for NVIDIA_VISIBLE_DEVICES.
func visibleValue(name string, n int) string {
	if n == 0 {
		if name == "NVIDIA_VISIBLE_DEVICES" {
			return "none"
		}
		return "-1"
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	return strings.Join(ids, ",")
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optBool(b bool) *bool { return &b }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
