package gpuprobe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary act as gpu-probe itself (as os/exec's tests
// do) when GPUPROBE_TEST_MAIN=1, so the shell tests run a real process.
func TestMain(m *testing.M) {
	if os.Getenv("GPUPROBE_TEST_MAIN") == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runMain runs Main in-process with the given environment.
func runMain(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, envMap(env), &out, &errb)
	return code, out.String(), errb.String()
}

func TestMain_Usage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"json and env", []string{"--json", "--env"}, 2, "gpu-probe: --json and --env cannot be used together"},
		{"unknown flag", []string{"--yaml"}, 2, "gpu-probe: flag provided but not defined: -yaml"},
		{"argument", []string{"--json", "extra"}, 2, `gpu-probe: unexpected argument "extra"`},
		{"root missing", []string{"--root", "testdata/no-such-root"}, 1, "gpu-probe: root testdata/no-such-root: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(nil, tc.args...)
			if code != tc.code || stdout != "" || !strings.HasPrefix(stderr, tc.msg+"\n") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, tc.code, tc.msg)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		code, stdout, _ := runMain(nil, "--help")
		if code != 0 || !strings.HasPrefix(stdout, "usage: gpu-probe [--root DIR] [--json | --env] [--live]\n") {
			t.Errorf("exit %d, stdout %q", code, stdout)
		}
	})
}

func TestMain_Outputs(t *testing.T) {
	root := fixtureRoot("nvidia-1x-h100")
	t.Run("table by default", func(t *testing.T) {
		code, stdout, stderr := runMain(nil, "--root", root)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "XPU_TARGET=NVIDIA_GPU GPU_COUNT=1 GPU_VENDOR=nvidia\n#  VENDOR") || !strings.Contains(stdout, "NVIDIA H100 PCIe") {
			t.Errorf("exit %d, stdout:\n%s\nstderr %q", code, stdout, stderr)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, stdout, _ := runMain(nil, "--root", root, "--json")
		var doc map[string]any
		if err := json.Unmarshal([]byte(stdout), &doc); code != 0 || err != nil {
			t.Fatalf("exit %d, %v", code, err)
		}
		if doc["xpu_target"] != "NVIDIA_GPU" || doc["gpu_count"] != 1.0 || doc["schema_version"] != 1.0 {
			t.Errorf("doc %v", doc)
		}
	})
	t.Run("GHW_CHROOT is the default root, --root wins", func(t *testing.T) {
		_, stdout, _ := runMain(map[string]string{"GHW_CHROOT": fixtureRoot("amd-2x-mi300x")}, "--env")
		if !strings.Contains(stdout, "export XPU_TARGET='AMD_GPU'\n") {
			t.Errorf("GHW_CHROOT ignored: %q", stdout)
		}
		_, stdout, _ = runMain(map[string]string{"GHW_CHROOT": fixtureRoot("amd-2x-mi300x")}, "--env", "--root", root)
		if !strings.Contains(stdout, "export XPU_TARGET='NVIDIA_GPU'\n") {
			t.Errorf("--root did not win: %q", stdout)
		}
	})
	t.Run("warnings go to stderr, exit 0", func(t *testing.T) {
		code, stdout, stderr := runMain(nil, "--root", fixtureRoot("broken"), "--env")
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != 0 || len(lines) != 9 || !strings.HasPrefix(lines[0], "gpu-probe: warning: ghw: ") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
		if stdout != "export GPU_COUNT='1'\nexport XPU_TARGET='NVIDIA_GPU'\nexport GPU_VENDOR='nvidia'\n" {
			t.Errorf("stdout %q", stdout)
		}
	})
}

// TestMain_RealRoot probes this machine. Where the PCI bus (read here with
// no help from the code under test) has no NVIDIA, AMD or Intel display or
// accelerator, gpu-probe must say zero GPUs and CPU, without warnings.
func TestMain_RealRoot(t *testing.T) {
	code, stdout, stderr := runMain(map[string]string{"PATH": os.Getenv("PATH")}, "--json", "--root", "/")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	var r Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	gpus := 0
	classes, _ := filepath.Glob("/sys/bus/pci/devices/*/class")
	for _, c := range classes {
		class, _ := os.ReadFile(c)
		vendor, _ := os.ReadFile(filepath.Join(filepath.Dir(c), "vendor"))
		v, cl := strings.TrimSpace(string(vendor)), strings.TrimSpace(string(class))
		gpuVendor := v == "0x10de" || v == "0x1002" || v == "0x8086"
		if gpuVendor && (strings.HasPrefix(cl, "0x03") || (strings.HasPrefix(cl, "0x12") && v != "0x8086")) {
			gpus++
		}
	}
	if len(r.GPUs) != gpus {
		t.Errorf("gpu-probe lists %d GPUs, the PCI bus has %d", len(r.GPUs), gpus)
	}
	if gpus == 0 {
		t.Logf("no GPU on this machine: checking gpu_count 0, XPU_TARGET=CPU, no warnings")
		if r.GPUCount != 0 || r.XPUTarget != TargetCPU || len(r.Warnings) != 0 || stderr != "" {
			t.Errorf("gpu_count %d, xpu_target %s, warnings %q, stderr %q", r.GPUCount, r.XPUTarget, r.Warnings, stderr)
		}
	}
}

// TestEnv_EvalInShells evals gpu-probe --env, run as a real process, in
// bash (and dash where installed), including hostile pre-set values.
func TestEnv_EvalInShells(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	shells := []string{}
	for _, sh := range []string{"bash", "dash"} {
		if p, err := exec.LookPath(sh); err == nil {
			shells = append(shells, p)
		}
	}
	if len(shells) == 0 || filepath.Base(shells[0]) != "bash" {
		t.Fatal("bash is needed for this test")
	}
	// The script prints each variable after eval, NUL-separated.
	const script = `set -e
out=$("$PROBE" --env --root "$ROOT")
eval "$out"
for v in GPU_COUNT XPU_TARGET GPU_VENDOR CUDA_VISIBLE_DEVICES NVIDIA_VISIBLE_DEVICES CUDA_DEVICE_ORDER HIP_VISIBLE_DEVICES ROCR_VISIBLE_DEVICES; do
	eval "printf '%s=%s\0' $v \"\${$v-<unset>}\""
done
`
	for _, tc := range []struct {
		name, fixture string
		env           map[string]string
		want          map[string]string
	}{
		{"no-gpu", "no-gpu", nil, map[string]string{"GPU_COUNT": "0", "XPU_TARGET": "CPU", "GPU_VENDOR": "none", "CUDA_VISIBLE_DEVICES": "<unset>"}},
		{"nvidia-1x-h100", "nvidia-1x-h100", nil, map[string]string{"GPU_COUNT": "1", "XPU_TARGET": "NVIDIA_GPU", "GPU_VENDOR": "nvidia", "CUDA_VISIBLE_DEVICES": "<unset>"}},
		{"8x limited to 3", "nvidia-8x-h100", map[string]string{"GPU_COUNT": "3"}, map[string]string{"GPU_COUNT": "3", "XPU_TARGET": "NVIDIA_GPU", "CUDA_VISIBLE_DEVICES": "0,1,2", "NVIDIA_VISIBLE_DEVICES": "0,1,2", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}},
		{"container with user values", "nvidia-8x-h100-container", map[string]string{"GPU_COUNT": "1", "CUDA_VISIBLE_DEVICES": hostileValue, "NVIDIA_VISIBLE_DEVICES": "all"},
			map[string]string{"GPU_COUNT": "1", "CUDA_VISIBLE_DEVICES": hostileValue, "NVIDIA_VISIBLE_DEVICES": "all", "CUDA_DEVICE_ORDER": "<unset>"}},
		{"amd limited beyond", "amd-2x-mi300x", map[string]string{"GPU_COUNT": "5", "ROCR_VISIBLE_DEVICES": "$(touch \"$MARK\")'"},
			map[string]string{"GPU_COUNT": "2", "XPU_TARGET": "AMD_GPU", "GPU_VENDOR": "amd", "HIP_VISIBLE_DEVICES": "0,1", "ROCR_VISIBLE_DEVICES": "$(touch \"$MARK\")'", "CUDA_VISIBLE_DEVICES": "<unset>"}},
		{"intel only", "intel-igpu", map[string]string{"GPU_COUNT": "1"}, map[string]string{"GPU_COUNT": "0", "XPU_TARGET": "CPU", "GPU_VENDOR": "intel"}},
		{"broken", "broken", nil, map[string]string{"GPU_COUNT": "1", "XPU_TARGET": "NVIDIA_GPU"}},
	} {
		for _, sh := range shells {
			t.Run(tc.name+"/"+filepath.Base(sh), func(t *testing.T) {
				t.Parallel()
				mark := filepath.Join(t.TempDir(), "pwned")
				cmd := exec.Command(sh, "-c", script)
				cmd.Env = []string{
					"PATH=" + os.Getenv("PATH"),
					"GPUPROBE_TEST_MAIN=1",
					"PROBE=" + exe,
					"ROOT=" + fixtureRoot(tc.fixture),
					"MARK=" + mark,
				}
				for k, v := range tc.env {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%v; stderr:\n%s", err, stderr.String())
				}
				got := map[string]string{}
				sc := bufio.NewScanner(bytes.NewReader(out))
				sc.Split(splitNUL)
				for sc.Scan() {
					k, v, _ := strings.Cut(sc.Text(), "=")
					got[k] = v
				}
				for k, v := range tc.want {
					if got[k] != v {
						t.Errorf("after eval %s = %q, want %q", k, got[k], v)
					}
				}
				if _, err := os.Stat(mark); err == nil {
					t.Error("eval ran a command hidden in a value")
				}
			})
		}
	}
}

func splitNUL(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
