package e2e

import (
	"strings"
	"testing"
)

// The CUDA and ROCm Dockerfiles build on the local base (every step but
// the vendor libraries: nvidia/cuda cannot be pulled here and AMD's
// repository is not reached), and carry their vendor's tail.
func TestDockerfiles_cudaAndROCmOnLocalBase(t *testing.T) {
	for target, want := range map[string][]string{
		"test-cuda": {"GPUDESK_FLAVOUR=cuda", "NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics,video"},
		"test-rocm": {"GPUDESK_FLAVOUR=rocm", "ROCM_PATH=/opt/rocm"},
	} {
		t.Run(target, func(t *testing.T) {
			tag, err := BuildImage(target)
			if err != nil {
				t.Fatal(err)
			}
			env, err := Docker("image", "inspect", "-f", "{{join .Config.Env \"\\n\"}}", tag)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range want {
				if !strings.Contains(env, w) {
					t.Errorf("%s: no %s in its environment:\n%s", tag, w, env)
				}
			}
			if out, err := Docker("run", "--rm", "--entrypoint", "/usr/local/bin/supervisord", tag, "--version"); err != nil {
				t.Errorf("%s: supervisord --version: %v: %s", tag, err, out)
			}
		})
	}
}
