# docker-bake.hcl: every published image of gpudesk, and the test images.
#
#   docker buildx bake cpu             every CPU image (Ubuntu 22.04, 24.04)
#   docker buildx bake cuda | rocm     every CUDA | ROCm image
#   docker buildx bake                 all of them (group "default")
#   docker buildx bake --print cpu     what it would build
#   scripts/build-image test           the CPU image on a local Debian base,
#                                      where no registry can be reached
#
# Tags (the seed's families), under ${REGISTRY}${NAMESPACE}/${IMAGE}:
#   :cpu-<ubuntu>                                   e.g. :cpu-22.04
#   :cuda-<x.x.x>[-cudnn<n>]-<base|runtime|devel>-<ubuntu>
#   :rocm-<x.x>-<core|runtime|devel>-<ubuntu>
#   :latest-cpu, :latest-cuda, :latest-rocm, and :latest = :latest-cuda
# Every variable can be set from the environment (REGISTRY=registry.example/ ...).

variable "REGISTRY" {
  # with its final "/", e.g. "registry.example/"; empty: Docker Hub
  default = ""
}
variable "NAMESPACE" {
  default = "gpudesk"
}
variable "IMAGE" {
  default = "desktop"
}

variable "UBUNTU_VERSIONS" {
  default = ["22.04", "24.04"]
}
# <cuda version>[-cudnn<n>]-<level>-<ubuntu>: the nvidia/cuda image of the
# same name (with "ubuntu" before the release) is the base.
variable "CUDA_FLAVOURS" {
  default = [
    "11.8.0-base-22.04", "11.8.0-cudnn8-runtime-22.04", "11.8.0-cudnn8-devel-22.04",
    "12.1.1-base-22.04", "12.1.1-cudnn8-runtime-22.04", "12.1.1-cudnn8-devel-22.04",
    "12.2.0-base-22.04", "12.2.0-cudnn8-runtime-22.04", "12.2.0-cudnn8-devel-22.04",
    "12.6.3-base-24.04", "12.6.3-cudnn-runtime-24.04", "12.6.3-cudnn-devel-24.04",
  ]
}
# <rocm version>-<level>-<ubuntu>: ROCm's packages on plain Ubuntu.
variable "ROCM_FLAVOURS" {
  default = [
    "5.6-core-22.04", "5.6-runtime-22.04", "5.6-devel-22.04",
    "6.0-core-22.04", "6.0-runtime-22.04", "6.0-devel-22.04",
  ]
}
# The latest-* aliases: the seed's documented defaults.
variable "LATEST_CPU" {
  default = "22.04"
}
variable "LATEST_CUDA" {
  default = "12.2.0-cudnn8-runtime-22.04"
}
variable "LATEST_ROCM" {
  default = "5.6-runtime-22.04"
}

# The Go builder image (the binaries and Caddy are built static in it).
variable "GO_IMAGE" {
  default = "golang:1.26-bookworm"
}
# Passed to the Go builds (scripts/build-image sets them from `go env`).
variable "GOPROXY" {
  default = ""
}
variable "GOFLAGS" {
  default = ""
}
# cloudflared: a release binary's URL and its SHA-256 (both, or neither:
# then the image has no cloudflared, and says so in the build log and at
# boot).
variable "CLOUDFLARED_URL" {
  default = ""
}
variable "CLOUDFLARED_SHA256" {
  default = ""
}

# The test images: built on a local base (scripts/build-image imports a
# debootstrap'ed Debian bookworm as LOCAL_BASE), tagged ${TEST_IMAGE}:<flavour>.
variable "LOCAL_BASE" {
  default = "gpudesk-local/bookworm:minbase"
}
variable "TEST_IMAGE" {
  default = "gpudesk-test"
}

function "tag" {
  params = [name]
  result = "${REGISTRY}${NAMESPACE}/${IMAGE}:${name}"
}
# A matrix value as a target name ("12.2.0-base-22.04" -> "12-2-0-base-22-04").
function "slug" {
  params = [s]
  result = replace(s, ".", "-")
}
# The Ubuntu release at the end of a flavour.
function "ubuntu" {
  params = [f]
  result = regex("[0-9]+\\.[0-9]+$", f)
}

target "_common" {
  context = "."
  args = {
    GO_IMAGE           = GO_IMAGE
    GOPROXY            = GOPROXY
    GOFLAGS            = GOFLAGS
    CLOUDFLARED_URL    = CLOUDFLARED_URL
    CLOUDFLARED_SHA256 = CLOUDFLARED_SHA256
  }
  labels = {
    "org.opencontainers.image.source" = "https://github.com/gpudesk/runtime"
  }
}

target "cpu-images" {
  name       = "cpu-${slug(u)}"
  matrix     = { u = UBUNTU_VERSIONS }
  inherits   = ["_common"]
  dockerfile = "Dockerfile.cpu"
  args       = { BASE_IMAGE = "ubuntu:${u}" }
  tags       = concat([tag("cpu-${u}")], u == LATEST_CPU ? [tag("latest-cpu")] : [])
}

target "cuda-images" {
  name       = "cuda-${slug(f)}"
  matrix     = { f = CUDA_FLAVOURS }
  inherits   = ["_common"]
  dockerfile = "Dockerfile.cuda"
  args       = { BASE_IMAGE = "nvidia/cuda:${regex_replace(f, "-([0-9]+\\.[0-9]+)$", "-ubuntu$1")}" }
  tags       = concat([tag("cuda-${f}")], f == LATEST_CUDA ? [tag("latest-cuda"), tag("latest")] : [])
}

target "rocm-images" {
  name       = "rocm-${slug(f)}"
  matrix     = { f = ROCM_FLAVOURS }
  inherits   = ["_common"]
  dockerfile = "Dockerfile.rocm"
  args = {
    BASE_IMAGE  = "ubuntu:${ubuntu(f)}"
    ROCM_STRING = regex_replace(f, "-[0-9]+\\.[0-9]+$", "")
  }
  tags = concat([tag("rocm-${f}")], f == LATEST_ROCM ? [tag("latest-rocm")] : [])
}

group "default" {
  targets = ["cpu", "cuda", "rocm"]
}
group "cpu" {
  targets = ["cpu-images"]
}
group "cuda" {
  targets = ["cuda-images"]
}
group "rocm" {
  targets = ["rocm-images"]
}

# The CPU image on the local base, as scripts/test boots it.
target "test" {
  inherits   = ["_common"]
  dockerfile = "Dockerfile.cpu"
  args       = { BASE_IMAGE = LOCAL_BASE }
  tags       = ["${TEST_IMAGE}:cpu"]
}
# The CUDA and ROCm Dockerfiles on the same base: every step but the
# vendor libraries (nvidia/cuda cannot be pulled here, AMD's repository is
# not reached: ROCM_STRING is empty). They share all layers with "test"
# but the vendor tail.
target "test-cuda" {
  inherits   = ["_common"]
  dockerfile = "Dockerfile.cuda"
  args       = { BASE_IMAGE = LOCAL_BASE }
  tags       = ["${TEST_IMAGE}:cuda"]
}
target "test-rocm" {
  inherits   = ["_common"]
  dockerfile = "Dockerfile.rocm"
  args       = { BASE_IMAGE = LOCAL_BASE, ROCM_STRING = "" }
  tags       = ["${TEST_IMAGE}:rocm"]
}
group "tests" {
  targets = ["test", "test-cuda", "test-rocm"]
}
