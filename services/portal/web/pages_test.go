package web

import (
	"context"
	"strings"
	"testing"

	"github.com/gpudesk/runtime/services/gpuprobe"
	"github.com/gpudesk/runtime/services/portal/sysinfo"
)

// TestSystemPage renders the system page with GPUs from gpuprobe's own
// fixture tree (pointers, optional fields, live use).
func TestSystemPage(t *testing.T) {
	rep, err := gpuprobe.Probe(context.Background(), gpuprobe.Options{Root: "../../gpuprobe/testdata/fixtures/mixed-nvidia-intel",
		LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil || len(rep.GPUs) == 0 {
		t.Fatalf("fixture: %v %+v", err, rep)
	}
	used, util := int64(3<<30), 42
	rep.GPUs[0].Live = &gpuprobe.Live{Source: "nvidia-smi", MemoryUsedBytes: &used, UtilizationPercent: &util}
	s := &Server{}
	if err := s.parse(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p := Page{Title: "System", Page: "system", Data: map[string]any{"Info": sysinfo.Info{CPUs: 2, MemTotal: 1 << 30, MemUsed: 1 << 29}, "GPUs": rep, "GPUError": ""}}
	if err := s.pages["system"].ExecuteTemplate(&b, "layout", p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{rep.GPUs[0].Model, "42%", "3.0 GiB used", "512.0 MiB of 1.0 GiB"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("page lacks %q:\n%s", want, b.String())
		}
	}
}
