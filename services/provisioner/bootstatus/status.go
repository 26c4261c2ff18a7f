// Package bootstatus writes /run/boot/status.json, the start-up state the
// portal shows: the phase, each boot step with its duration and problems,
// and the provisioning script's outcome. It never holds a secret: the
// messages name variables, not values.
package bootstatus

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// File is the status file, below the root.
const File = "run/boot/status.json"

// The phases of a boot.
const (
	PhaseBoot        = "boot"        // provisioner boot is running
	PhaseSupervisord = "supervisord" // boot done, supervisord exec'd
	PhaseFailed      = "failed"      // boot stopped: no supervisord
)

// Step is one step of the boot.
type Step struct {
	Name       string   `json:"name"`
	DurationMS float64  `json:"duration_ms"`
	Warnings   []string `json:"warnings,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// Provisioning is the outcome of provisioner run.
type Provisioning struct {
	State      string    `json:"state"` // running, done, failed, skipped, none
	Source     string    `json:"source,omitempty"`
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms,omitempty"`
	ExitCode   *int      `json:"exit_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	LastLines  []string  `json:"last_lines,omitempty"`
}

// Status is the file's content (schema version 1).
type Status struct {
	Version      int           `json:"version"`
	Phase        string        `json:"phase"`
	Started      time.Time     `json:"started"`
	DurationMS   float64       `json:"duration_ms"`
	Steps        []Step        `json:"steps"`
	Errors       []string      `json:"errors"`
	Provisioning *Provisioning `json:"provisioning,omitempty"`
	Sync         *Sync         `json:"sync,omitempty"`
}

// Sync is the outcome of provisioner sync (OPT_SYNC).
type Sync struct {
	State      string    `json:"state"` // running, done, failed, none
	Items      []string  `json:"items,omitempty"`
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms,omitempty"`
	Errors     []string  `json:"errors,omitempty"`
}

// Read reads the status at path.
func Read(path string) (Status, error) {
	var s Status
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("reading %s: %w", path, err)
	}
	return s, nil
}

// Write writes s to path atomically (mode 0644: it holds no secret).
func Write(path string, s Status) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("making %s: %w", filepath.Dir(path), err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".status.*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	f.Chmod(0o644)
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}

// SetProvisioning replaces the provisioning part of the file at path,
// keeping the rest.
func SetProvisioning(path string, p Provisioning) error {
	return update(path, func(s *Status) { s.Provisioning = &p })
}

// SetSync replaces the workspace-sync part of the file at path, keeping
// the rest.
func SetSync(path string, y Sync) error {
	return update(path, func(s *Status) { s.Sync = &y })
}

// update changes the file under an flock of path.lock: provisioner run
// and provisioner sync run at the same time, and neither may lose the
// other's part.
func update(path string, change func(*Status)) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("making %s: %w", filepath.Dir(path), err)
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	s, err := Read(path)
	if err != nil && !os.IsNotExist(err) {
		s = Status{} // a damaged file is replaced
	}
	if s.Version == 0 {
		s.Version = 1
	}
	change(&s)
	return Write(path, s)
}
