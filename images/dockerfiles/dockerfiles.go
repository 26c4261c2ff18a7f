// Package dockerfiles renders Dockerfile.cpu, Dockerfile.cuda and
// Dockerfile.rocm from one template (Dockerfile.tmpl), so the three images
// keep one structure. The committed files are the rendered ones (docker
// and `docker buildx bake` read them as they are); the package's test
// fails when they differ from what the template gives, and
// `go test ./images/dockerfiles -update` writes them.
package dockerfiles

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed Dockerfile.tmpl
var tmplText string

var tmpl = template.Must(template.New("Dockerfile").Option("missingkey=error").Parse(tmplText))

// Flavour is what one Dockerfile has of its own: its base and its tail.
type Flavour struct {
	Name       string // file suffix: Dockerfile.<Name>
	Title      string
	BaseImage  string // ARG BASE_IMAGE's default
	BaseDoc    string // what the base is, for the file's comment
	ROCmString string // ARG ROCM_STRING's default: "<version>-<level>" or empty
	Tail       string // the vendor's variables and labels, last
}

// The defaults are the seed's documented latest-* images (docker-bake.hcl
// builds the others by setting BASE_IMAGE and ROCM_STRING).
var flavours = []Flavour{
	{
		Name:      "cpu",
		Title:     "CPU",
		BaseImage: "ubuntu:22.04",
		BaseDoc:   "Ubuntu (22.04 or 24.04), or the local Debian bookworm base the tests use.",
		Tail: `ENV GPUDESK_FLAVOUR=cpu
LABEL org.opencontainers.image.title="gpudesk (CPU)" \
      org.opencontainers.image.description="KDE desktop in the browser, portal, SSH and tunnels; no GPU libraries"`,
	},
	{
		Name:      "cuda",
		Title:     "NVIDIA CUDA",
		BaseImage: "nvidia/cuda:12.2.0-cudnn8-runtime-ubuntu22.04",
		BaseDoc:   "nvidia/cuda:<version>-[cudnn<n>-]<base|runtime|devel>-ubuntu<version>, which carries the CUDA libraries.",
		Tail: `# The NVIDIA container toolkit reads these: every GPU, and the graphics
# and video capabilities too (the desktop's GL, NVENC), which the CUDA
# base images leave out.
ENV GPUDESK_FLAVOUR=cuda NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics,video
LABEL org.opencontainers.image.title="gpudesk (NVIDIA CUDA)" \
      org.opencontainers.image.description="KDE desktop in the browser, portal, SSH and tunnels on an NVIDIA CUDA base"`,
	},
	{
		Name:       "rocm",
		Title:      "AMD ROCm",
		BaseImage:  "ubuntu:22.04",
		BaseDoc:    "plain Ubuntu, as ai-dock's ROCm images; ROCM_STRING says which ROCm packages go on it.",
		ROCmString: "5.6-runtime",
		Tail: `ENV GPUDESK_FLAVOUR=rocm ROCM_PATH=/opt/rocm PATH=/opt/rocm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.title="gpudesk (AMD ROCm)" \
      org.opencontainers.image.description="KDE desktop in the browser, portal, SSH and tunnels with AMD ROCm"`,
	},
}

// Flavours lists the three Dockerfiles.
func Flavours() []Flavour { return append([]Flavour(nil), flavours...) }

// Render returns the Dockerfile of one flavour.
func Render(f Flavour) ([]byte, error) {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, f); err != nil {
		return nil, fmt.Errorf("rendering Dockerfile.%s: %w", f.Name, err)
	}
	out := b.String()
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return []byte(out), nil
}
