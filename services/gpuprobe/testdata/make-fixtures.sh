#!/usr/bin/env bash
# Rebuilds testdata/fixtures/: small snapshots of the files gpu-probe reads
# (sysfs, /proc/driver/nvidia, /dev, pci.ids), one machine per folder. They
# are written by hand from the layouts of real machines; ids, names and file
# formats are real, while UUIDs, IRQs, BIOS versions and similar values are
# made up. Device nodes are empty regular files: gpu-probe only checks that
# they exist. Symlinks are relative, as sysfs' are, so a fixture works as
# --root from anywhere.
#
# Run it after changing a fixture here, then refresh the golden files:
#   services/gpuprobe/testdata/make-fixtures.sh
#   go test ./services/gpuprobe/ -run TestGolden -update
set -euo pipefail
cd "$(dirname "$0")"
rm -rf fixtures
mkdir fixtures

R= # the fixture being written

fixture() { R="fixtures/$1"; mkdir -p "$R"; }

# put PATH LINE...: writes the lines (each with a newline) to PATH.
put() {
	local p="$R/$1"
	shift
	mkdir -p "$(dirname "$p")"
	printf '%s\n' "$@" >"$p"
}

# nodes NAME...: empty files standing for device nodes under /dev.
nodes() {
	local n
	for n; do
		mkdir -p "$(dirname "$R/dev/$n")"
		: >"$R/dev/$n"
	done
}

# pciids PATH: the pci.ids excerpt at PATH (usr/share/misc/pci.ids ...).
pciids() {
	mkdir -p "$(dirname "$R/$1")"
	cp pci.ids "$R/$1"
}

# pcidev ADDR VENDOR DEVICE CLASS SUBVENDOR SUBDEVICE DRIVER NUMA
# A PCI function as sysfs shows it: /sys/devices/pciDDDD:BB/ADDR with its
# id files and modalias, the /sys/bus/pci/devices/ADDR link to it, and its
# driver link ("-" for none).
pcidev() {
	local addr=$1 ven=$2 dev=$3 class=$4 sven=$5 sdev=$6 drv=$7 numa=$8
	local domain=${addr%%:*} rest=${addr#*:}
	local bus=${rest%%:*}
	local d="$R/sys/devices/pci$domain:$bus/$addr"
	mkdir -p "$d" "$R/sys/bus/pci/devices"
	printf '0x%s\n' "$ven" >"$d/vendor"
	printf '0x%s\n' "$dev" >"$d/device"
	printf '0x%s\n' "$sven" >"$d/subsystem_vendor"
	printf '0x%s\n' "$sdev" >"$d/subsystem_device"
	printf '0x%s\n' "$class" >"$d/class"
	printf '0xa1\n' >"$d/revision"
	printf '%s\n' "$numa" >"$d/numa_node"
	printf 'pci:v0000%sd0000%ssv0000%ssd0000%sbc%ssc%si%s\n' \
		"${ven^^}" "${dev^^}" "${sven^^}" "${sdev^^}" \
		"${class:0:2}" "${class:2:2}" "${class:4:2}" >"$d/modalias"
	ln -sr "$d" "$R/sys/bus/pci/devices/$addr"
	if [ "$drv" != - ]; then
		mkdir -p "$R/sys/bus/pci/drivers/$drv"
		: >"$R/sys/bus/pci/drivers/$drv/bind"
		: >"$R/sys/bus/pci/drivers/$drv/unbind"
		ln -sr "$R/sys/bus/pci/drivers/$drv" "$d/driver"
	fi
}

# drm ADDR NAME...: the device's DRM nodes in sysfs (card1, renderD128).
drm() {
	local addr=$1 n
	shift
	local d
	d=$(readlink -f "$R/sys/bus/pci/devices/$addr")
	for n; do
		mkdir -p "$d/drm/$n"
		printf '226:%s\n' "${n//[!0-9]/}" >"$d/drm/$n/dev"
	done
}

# nvinfo ADDR MODEL UUID MINOR: /proc/driver/nvidia/gpus/ADDR/information,
# spaced as the driver writes it.
nvinfo() {
	local addr=$1 model=$2 uuid=$3 minor=$4
	mkdir -p "$R/proc/driver/nvidia/gpus/$addr"
	printf '%s\n' \
		"Model: 		 $model" \
		"IRQ:   		 $((144 + minor))" \
		"GPU UUID: 	 $uuid" \
		"Video BIOS: 	 96.00.74.00.01" \
		"Bus Type: 	 PCIe" \
		"DMA Size: 	 52 bits" \
		"DMA Mask: 	 0xfffffffffffff" \
		"Bus Location: 	 $addr" \
		"Device Minor: 	 $minor" \
		"GPU Excluded:	 No" \
		>"$R/proc/driver/nvidia/gpus/$addr/information"
}

nvversion() {
	put proc/driver/nvidia/version \
		"NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024" \
		"GCC version:  gcc version 12.2.0 (Debian 12.2.0-14) "
}

hostbridge() { pcidev 0000:00:00.0 8086 09a2 060000 8086 0000 - -1; }

# The 8 GPUs, NVSwitches and BMC of an HGX H100 server, as every container
# on it sees them in sysfs.
hgx_h100_sysfs() {
	hostbridge
	pcidev 0000:03:00.0 1a03 2000 030000 1a03 2000 ast 0
	drm 0000:03:00.0 card0
	local i=0 addr
	for addr in 0000:05:00.0 0000:06:00.0 0000:07:00.0 0000:08:00.0; do
		pcidev "$addr" 10de 22a3 068000 10de 1796 nvidia-nvswitch 0
	done
	for addr in 0000:18:00.0 0000:2a:00.0 0000:3a:00.0 0000:5d:00.0 \
		0000:9a:00.0 0000:ab:00.0 0000:ba:00.0 0000:db:00.0; do
		pcidev "$addr" 10de 2330 030200 10de 16c1 nvidia $((i / 4))
		i=$((i + 1))
	done
}
hgx_uuid() { printf 'GPU-5d0f1c8e-3b7a-4c2e-9f61-0a1b2c3d4e%02d' "$1"; }
hgx_addrs=(0000:18:00.0 0000:2a:00.0 0000:3a:00.0 0000:5d:00.0 0000:9a:00.0 0000:ab:00.0 0000:ba:00.0 0000:db:00.0)

# ---------------------------------------------------------------------------
# no-gpu: a cloud VM: virtio devices and an emulated VGA (bochs), no GPU.
fixture no-gpu
pciids usr/share/misc/pci.ids
hostbridge
pcidev 0000:00:02.0 1234 1111 030000 1af4 1100 bochs-drm -1
drm 0000:00:02.0 card0
pcidev 0000:00:03.0 1af4 1041 020000 1af4 1100 virtio-pci -1
nodes dri/card0

# ---------------------------------------------------------------------------
# nvidia-1x-h100: a container with one H100 PCIe (pci.ids from hwdata).
fixture nvidia-1x-h100
pciids usr/share/hwdata/pci.ids
hostbridge
pcidev 0000:18:00.0 10de 2331 030200 10de 1626 nvidia 0
nvinfo 0000:18:00.0 "NVIDIA H100 PCIe" GPU-7b4c2f41-9d3e-4f0a-8c5b-1e2d3f4a5b6c 0
nvversion
nodes nvidia0 nvidiactl nvidia-uvm nvidia-uvm-tools

# ---------------------------------------------------------------------------
# nvidia-8x-h100: the HGX H100 host itself, all 8 GPUs usable.
fixture nvidia-8x-h100
pciids usr/share/misc/pci.ids
hgx_h100_sysfs
for i in "${!hgx_addrs[@]}"; do
	nvinfo "${hgx_addrs[$i]}" "NVIDIA H100 80GB HBM3" "$(hgx_uuid "$i")" "$i"
	nodes "nvidia$i"
done
nvversion
put sys/module/nvidia/version 550.54.15
nodes nvidiactl nvidia-uvm nvidia-uvm-tools nvidia-modeset dri/card0

# ---------------------------------------------------------------------------
# nvidia-8x-h100-container: a container rented on that host with 2 of its
# GPUs. sysfs still shows all 8; the NVIDIA container runtime gives it only
# its GPUs' /proc/driver/nvidia/gpus entries and /dev/nvidiaN nodes.
fixture nvidia-8x-h100-container
pciids usr/share/misc/pci.ids
hgx_h100_sysfs
for i in 4 5; do
	nvinfo "${hgx_addrs[$i]}" "NVIDIA H100 80GB HBM3" "$(hgx_uuid "$i")" "$i"
	nodes "nvidia$i"
done
nvversion
nodes nvidiactl nvidia-uvm nvidia-uvm-tools

# ---------------------------------------------------------------------------
# amd-2x-mi300x: a container with two Instinct MI300X (class 1200,
# "processing accelerator"), /dev/kfd and their render nodes; the DKMS
# amdgpu driver's version in /sys/module.
fixture amd-2x-mi300x
pciids usr/share/misc/pci.ids
hostbridge
pcidev 0000:0c:00.0 1002 74a1 120000 1002 74a1 amdgpu 0
pcidev 0000:9f:00.0 1002 74a1 120000 1002 74a1 amdgpu 1
drm 0000:0c:00.0 card1 renderD128
drm 0000:9f:00.0 card2 renderD129
for addr in 0000:0c:00.0 0000:9f:00.0; do
	put "sys/devices/pci0000:${addr:5:2}/$addr/mem_info_vram_total" 206141652992
done
put sys/module/amdgpu/version 6.8.5
nodes kfd dri/card1 dri/card2 dri/renderD128 dri/renderD129

# ---------------------------------------------------------------------------
# intel-igpu: a desktop with only an Alder Lake UHD Graphics 770.
fixture intel-igpu
pciids usr/share/misc/pci.ids
hostbridge
pcidev 0000:00:02.0 8086 4680 030000 1043 8882 i915 -1
drm 0000:00:02.0 card0 renderD128
nodes dri/card0 dri/renderD128

# ---------------------------------------------------------------------------
# mixed-nvidia-intel: a workstation with an Intel iGPU (first on the bus)
# and a GeForce RTX 4090 (with its HDMI audio function), open kernel module.
fixture mixed-nvidia-intel
pciids usr/share/misc/pci.ids
hostbridge
pcidev 0000:00:02.0 8086 4680 030000 1043 8882 i915 -1
drm 0000:00:02.0 card0 renderD128
pcidev 0000:01:00.0 10de 2684 030000 10de 167c nvidia -1
drm 0000:01:00.0 card1 renderD129
pcidev 0000:01:00.1 10de 22ba 040300 10de 167c snd_hda_intel -1
nvinfo 0000:01:00.0 "NVIDIA GeForce RTX 4090" GPU-3f9a6c21-7e4d-4b8a-a5c0-9d8e7f6a5b4c 0
put proc/driver/nvidia/version \
	"NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  560.35.03  Release Build  (dvs-builder@U16-I3-A03-3-1)  Fri Aug 16 21:21:48 UTC 2024" \
	"GCC version:  gcc version 12.2.0 (Debian 12.2.0-14) "
nodes nvidia0 nvidiactl nvidia-uvm nvidia-modeset dri/card0 dri/card1 dri/renderD128 dri/renderD129

# ---------------------------------------------------------------------------
# broken: a partial snapshot. No pci.ids; an H100 without modalias (ghw
# gives up on the whole bus) whose driver link dangles, with a bad
# numa_node and a truncated information file (no minor); a device whose
# class is garbage and whose device file is missing; an MI300X with a bad
# VRAM size and no /dev/kfd; a stray entry in /sys/bus/pci/devices; a
# garbled version line; the driver listing a GPU that is not on the bus.
fixture broken
hostbridge
pcidev 0000:03:00.0 10de 2331 030200 10de 1626 nvidia 0
rm "$R/sys/devices/pci0000:03/0000:03:00.0/modalias"
rm -r "$R/sys/bus/pci/drivers/nvidia"
put "sys/devices/pci0000:03/0000:03:00.0/numa_node" banana
pcidev 0000:04:00.0 10de 2331 030200 10de 1626 - 0
put "sys/devices/pci0000:04/0000:04:00.0/class" garbage
rm "$R/sys/devices/pci0000:04/0000:04:00.0/modalias" "$R/sys/devices/pci0000:04/0000:04:00.0/device"
pcidev 0000:05:00.0 1002 74a1 120000 1002 74a1 amdgpu 0
drm 0000:05:00.0 card1 renderD128
put "sys/devices/pci0000:05/0000:05:00.0/mem_info_vram_total" lots
put sys/bus/pci/devices/not-a-pci-address "left by a bad copy"
put proc/driver/nvidia/gpus/0000:03:00.0/information \
	"Model: 		 NVIDIA H100 PCIe" \
	"IRQ:   		 144" \
	"GPU UUID: 	 GPU-0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e"
put proc/driver/nvidia/gpus/0000:0a:00.0/information "Model: 		 NVIDIA H100 PCIe"
put proc/driver/nvidia/version "NVRM version: (garbled)"
nodes nvidia0 nvidiactl dri/card1
