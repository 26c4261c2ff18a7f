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
//
// A root is untrusted input: every file under it is read only if it is a
// regular file, opened without blocking, and up to a bound (64 KiB for a
// sysfs or /proc file, 64 MiB for pci.ids); anything else (a FIFO, a
// device node, a huge file) is skipped with a warning naming it. ghw, which
// reads some sysfs files itself, is used only when those pass the same
// checks (rootfs.go). Main returns on SIGTERM even while a read is stuck.
package gpuprobe
