// Package gpuprobe finds the GPUs of a machine, or of a snapshot of one
// under a root directory, and decides what a container exposes.
//
// Probe enumerates PCI devices with github.com/jaypipes/ghw (names from the
// root's pci.ids, never fetched), enriches NVIDIA GPUs from
// /proc/driver/nvidia and AMD GPUs from sysfs, lists their device nodes,
// tells which GPUs the container may use, and applies GPU_COUNT to the
// visible-device variables. Optionally it asks nvidia-smi / rocm-smi for
// live memory and utilisation. Main is the gpu-probe command line. The
// parsers (parse.go, live.go) take strings and are fuzzed; the readers take
// the root, so tests run on the trees of testdata/fixtures.
package gpuprobe
