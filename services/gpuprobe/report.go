package gpuprobe

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// SchemaVersion is the version of the JSON document that --json prints. It
// changes only when a field is removed or changes meaning; new fields may be
// added without a change. README.md ("gpu-probe") documents every field.
const SchemaVersion = 1

// Vendor names a GPU maker as the report writes it.
type Vendor string

// The vendors gpu-probe tells apart; any other maker is VendorOther.
const (
	VendorNVIDIA Vendor = "nvidia"
	VendorAMD    Vendor = "amd"
	VendorIntel  Vendor = "intel"
	VendorOther  Vendor = "other"
	VendorNone   Vendor = "none"
)

// XPUTarget is the compute target the container should use (XPU_TARGET).
type XPUTarget string

// The values of XPU_TARGET.
const (
	TargetNVIDIA XPUTarget = "NVIDIA_GPU"
	TargetAMD    XPUTarget = "AMD_GPU"
	TargetCPU    XPUTarget = "CPU"
)

// Report is what one probe found: the document --json prints.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Root          string    `json:"root"`
	XPUTarget     XPUTarget `json:"xpu_target"`
	GPUVendor     Vendor    `json:"gpu_vendor"`
	// GPUCount is the number of GPUs exposed to workloads: GPUs of the
	// target vendor that the container can use, limited by GPU_COUNT.
	GPUCount      int                   `json:"gpu_count"`
	GPUCountLimit *Limit                `json:"gpu_count_limit"`
	GPUs          []GPU                 `json:"gpus"`
	OtherDisplay  []DisplayDevice       `json:"other_display_devices"`
	SharedNodes   []string              `json:"shared_device_nodes"`
	Visible       map[string]VisibleVar `json:"visible"`
	Warnings      []string              `json:"warnings"`
}

// GPU is one NVIDIA, AMD or Intel display, 3D or compute controller.
type GPU struct {
	Index         int     `json:"index"`
	Vendor        Vendor  `json:"vendor"`
	VendorID      string  `json:"vendor_id"`
	VendorName    *string `json:"vendor_name"`
	DeviceID      string  `json:"device_id"`
	Model         string  `json:"model"`
	PCIName       *string `json:"pci_name"`
	PCIClass      string  `json:"pci_class"`
	PCIAddress    string  `json:"pci_address"`
	NUMANode      *int    `json:"numa_node"`
	Driver        *string `json:"driver"`
	DriverVersion *string `json:"driver_version"`
	MemoryBytes   *int64  `json:"memory_bytes"`
	MemorySource  *string `json:"memory_source"`
	UUID          *string `json:"uuid"`
	// Accessible says whether this container can use the GPU (its driver
	// entry and device node are there); null when that cannot be told.
	Accessible *bool `json:"accessible"`
	// Ordinal is the GPU's number for CUDA / HIP: its position among the
	// usable GPUs of its vendor in PCI order; null when not usable.
	Ordinal     *int     `json:"ordinal"`
	Exposed     bool     `json:"exposed"`
	DeviceNodes []string `json:"device_nodes"`
	Live        *Live    `json:"live"`
}

// DisplayDevice is a display controller that is not a GPU to compute on: a
// server's BMC VGA (ASPEED, Matrox), an emulated VGA or virtio-gpu.
type DisplayDevice struct {
	PCIAddress string  `json:"pci_address"`
	VendorID   string  `json:"vendor_id"`
	VendorName *string `json:"vendor_name"`
	DeviceID   string  `json:"device_id"`
	PCIName    *string `json:"pci_name"`
	PCIClass   string  `json:"pci_class"`
	Driver     *string `json:"driver"`
}

// Live is what nvidia-smi or rocm-smi reported for one GPU (--live).
type Live struct {
	Source             string `json:"source"`
	MemoryTotalBytes   *int64 `json:"memory_total_bytes"`
	MemoryUsedBytes    *int64 `json:"memory_used_bytes"`
	UtilizationPercent *int   `json:"utilization_percent"`
}

// Limit records how GPU_COUNT was applied.
type Limit struct {
	Requested int `json:"requested"`
	Available int `json:"available"`
	Applied   int `json:"applied"`
}

// VisibleVar is one visible-device variable and where its value came from.
type VisibleVar struct {
	Value string `json:"value"`
	// Source is "GPU_COUNT" when gpu-probe set it, "environment" when the
	// user had already set it (then it is kept as it was).
	Source string `json:"source"`
}

// The sources of a VisibleVar.
const (
	SourceGPUCount    = "GPU_COUNT"
	SourceEnvironment = "environment"
)

// visibleOrder is the order --env prints the visible-device variables in.
var visibleOrder = []string{
	"CUDA_DEVICE_ORDER", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
	"HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteEnv writes the report as shell "export NAME='value'" lines, safe to
// eval in bash, dash or zsh whatever the values hold.
func (r *Report) WriteEnv(w io.Writer) error {
	var b strings.Builder
	export := func(name, value string) {
		b.WriteString("export " + name + "=" + shellQuote(value) + "\n")
	}
	export("GPU_COUNT", fmt.Sprint(r.GPUCount))
	export("XPU_TARGET", string(r.XPUTarget))
	export("GPU_VENDOR", string(r.GPUVendor))
	for _, name := range visibleOrder {
		if v, ok := r.Visible[name]; ok {
			export(name, v.Value)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote quotes s for POSIX shells. Inside single quotes nothing is
// special but the single quote itself, which is written as: close the
// quotes, an escaped quote (\'), open them again.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// WriteTable writes the short human summary gpu-probe prints by default.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "XPU_TARGET=%s GPU_COUNT=%d GPU_VENDOR=%s", r.XPUTarget, r.GPUCount, r.GPUVendor)
	if l := r.GPUCountLimit; l != nil {
		fmt.Fprintf(&b, " (GPU_COUNT asked %d of %d available)", l.Requested, l.Available)
	}
	b.WriteString("\n")
	if len(r.GPUs) == 0 {
		b.WriteString("no GPU found\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "#\tVENDOR\tMODEL\tPCI ADDRESS\tNUMA\tDRIVER\tMEMORY\tSTATUS\tDEVICE NODES")
		for _, g := range r.GPUs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				g.Index, g.Vendor, tableCell(g.Model), g.PCIAddress,
				optInt(g.NUMANode), driverCell(g), memoryCell(g), statusCell(g),
				orDash(strings.Join(g.DeviceNodes, " ")))
		}
		tw.Flush()
	}
	for _, v := range visibleOrder {
		if vv, ok := r.Visible[v]; ok {
			fmt.Fprintf(&b, "%s=%s (%s)\n", v, tableCell(vv.Value), vv.Source)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tableCell keeps a value on one line and free of terminal controls.
func tableCell(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func optInt(p *int) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func driverCell(g GPU) string {
	if g.Driver == nil {
		return "-"
	}
	if g.DriverVersion != nil {
		return tableCell(*g.Driver + " " + *g.DriverVersion)
	}
	return tableCell(*g.Driver)
}

func memoryCell(g GPU) string {
	if g.MemoryBytes == nil {
		return "-"
	}
	s := fmt.Sprintf("%.1f GiB", float64(*g.MemoryBytes)/(1<<30))
	if g.Live != nil && g.Live.MemoryUsedBytes != nil {
		s = fmt.Sprintf("%.1f/%s", float64(*g.Live.MemoryUsedBytes)/(1<<30), s)
	}
	if g.Live != nil && g.Live.UtilizationPercent != nil {
		s += fmt.Sprintf(" %d%%", *g.Live.UtilizationPercent)
	}
	return s
}

func statusCell(g GPU) string {
	switch {
	case g.Exposed && g.Vendor == VendorNVIDIA:
		return fmt.Sprintf("cuda:%d", *g.Ordinal)
	case g.Exposed:
		return fmt.Sprintf("hip:%d", *g.Ordinal)
	case g.Accessible != nil && !*g.Accessible:
		return "no access"
	case g.Ordinal != nil && (g.Vendor == VendorNVIDIA || g.Vendor == VendorAMD):
		return "not exposed"
	default:
		return "display"
	}
}
