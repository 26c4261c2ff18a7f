// Package testbin builds the project's commands for tests that run them
// as real processes (with the race detector when the test has it).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build compiles package pkg (an import path) into dir/name.
func Build(dir, name, pkg string, race bool) (string, error) {
	out := filepath.Join(dir, name)
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	return out, nil
}

// Supervisord builds supervisord into a new temporary folder that any
// user may read; cleanup removes it.
func Supervisord(race bool) (path, dir string, err error) {
	dir, err = os.MkdirTemp("", "gpudesk-bin")
	if err != nil {
		return "", "", err
	}
	os.Chmod(dir, 0o755)
	path, err = Build(dir, "supervisord", "github.com/gpudesk/runtime/supervisor/cmd/supervisord", race)
	return path, dir, err
}
