package dockerfiles

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "write Dockerfile.{cpu,cuda,rocm} at the repository root")

// The committed Dockerfiles are the template's output.
func TestRender_matchesCommittedFiles(t *testing.T) {
	for _, f := range Flavours() {
		t.Run(f.Name, func(t *testing.T) {
			got, err := Render(f)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "Dockerfile."+f.Name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run: go test ./images/dockerfiles -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Dockerfile.%s differs from images/dockerfiles/Dockerfile.tmpl's output; edit the template and run: go test ./images/dockerfiles -update", f.Name)
			}
		})
	}
}

// The three files differ only in their header, their two ARG defaults and
// their tail: so builds on one base share every layer before the tail.
func TestRender_sameStructureBeforeTheTail(t *testing.T) {
	var ref []string
	for _, f := range Flavours() {
		b, err := Render(f)
		if err != nil {
			t.Fatal(err)
		}
		body, _, ok := strings.Cut(string(b), "# The vendor tail.")
		if !ok {
			t.Fatalf("Dockerfile.%s has no vendor tail marker", f.Name)
		}
		var lines []string
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "ARG BASE_IMAGE=") || strings.HasPrefix(l, "ARG ROCM_STRING=") {
				continue
			}
			lines = append(lines, l)
		}
		if ref == nil {
			ref = lines
			continue
		}
		if strings.Join(lines, "\n") != strings.Join(ref, "\n") {
			t.Errorf("Dockerfile.%s differs from Dockerfile.%s before the vendor tail", f.Name, Flavours()[0].Name)
		}
		if strings.Contains(body, "ENV NVIDIA") || strings.Contains(body, "GPUDESK_FLAVOUR") {
			t.Errorf("Dockerfile.%s sets a vendor variable before the tail", f.Name)
		}
	}
}

// No syntax directive: it would pull a frontend image from a registry.
func TestRender_noSyntaxDirective(t *testing.T) {
	for _, f := range Flavours() {
		b, err := Render(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "#") {
				break
			}
			if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(l, " ", "")), "#syntax=") {
				t.Errorf("Dockerfile.%s has a syntax directive: %q", f.Name, l)
			}
		}
	}
}
