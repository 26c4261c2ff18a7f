package e2e

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/bake-*.json from docker buildx bake --print")

// bakePrint is `docker buildx bake --print GROUP` with every variable the
// caller's environment could set left at its default.
func bakePrint(t *testing.T, group string) []byte {
	t.Helper()
	cmd := exec.Command("docker", "buildx", "bake", "--print", group)
	cmd.Dir = RepoRoot()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "REGISTRY", "NAMESPACE", "IMAGE", "UBUNTU_VERSIONS", "CUDA_FLAVOURS", "ROCM_FLAVOURS",
			"LATEST_CPU", "LATEST_CUDA", "LATEST_ROCM", "GO_IMAGE", "GOPROXY", "GOFLAGS",
			"CLOUDFLARED_URL", "CLOUDFLARED_SHA256", "LOCAL_BASE", "TEST_IMAGE":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker buildx bake --print %s: %v\n%s", group, err, errb.String())
	}
	return out.Bytes()
}

// Every group's targets, arguments and tags, as docker buildx bake
// resolves docker-bake.hcl, against the golden files.
func TestBake_printGolden(t *testing.T) {
	for _, group := range []string{"default", "cpu", "cuda", "rocm", "test", "tests"} {
		t.Run(group, func(t *testing.T) {
			got := bakePrint(t, group)
			path := filepath.Join("testdata", "bake-"+group+".json")
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./images/e2e -run TestBake -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("docker buildx bake --print %s differs from %s (if the change is meant: go test ./images/e2e -run TestBake -update)\n%s", group, path, got)
			}
		})
	}
}

// The tag families and aliases users read in the README.
func TestBake_tags(t *testing.T) {
	all := string(bakePrint(t, "default"))
	for _, tag := range []string{
		`"gpudesk/desktop:cpu-22.04"`, `"gpudesk/desktop:cpu-24.04"`, `"gpudesk/desktop:latest-cpu"`,
		`"gpudesk/desktop:cuda-12.2.0-cudnn8-runtime-22.04"`, `"gpudesk/desktop:cuda-12.2.0-base-22.04"`,
		`"gpudesk/desktop:latest-cuda"`, `"gpudesk/desktop:latest"`,
		`"gpudesk/desktop:rocm-5.6-runtime-22.04"`, `"gpudesk/desktop:latest-rocm"`,
		`"nvidia/cuda:12.2.0-cudnn8-runtime-ubuntu22.04"`, `"ROCM_STRING": "5.6-runtime"`,
	} {
		if !strings.Contains(all, tag) {
			t.Errorf("bake --print default lacks %s", tag)
		}
	}
	if n := strings.Count(all, `"gpudesk/desktop:latest"`); n != 1 {
		t.Errorf(":latest is on %d targets, want 1", n)
	}
}
