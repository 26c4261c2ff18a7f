// Package secrets keeps the secrets the boot removed from supervisord's
// environment, one root-only file per variable, and gives them back to the
// programs that ask for them by name (exec-with-secret).
package secrets

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/gpudesk/runtime/services/provisioner/env"
)

// Dir is the store, below the root. Not /run/secrets: Docker and Compose
// mount their secrets there, read-only.
const Dir = "run/gpudesk/secrets"

// Store is the folder of secret files.
type Store struct{ Dir string }

// Sync makes the store hold exactly the variables of s: a file NAME
// (mode 0600, folder 0700) per secret, and none for a variable that is
// gone. It reports whether anything changed.
func (st Store) Sync(s *env.Env) (bool, error) {
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		return false, fmt.Errorf("making %s: %w", st.Dir, err)
	}
	if err := os.Chmod(st.Dir, 0o700); err != nil {
		return false, fmt.Errorf("chmod %s: %w", st.Dir, err)
	}
	changed := false
	want := map[string]bool{}
	for _, name := range s.Names() {
		if !env.ValidName(name) {
			continue
		}
		want[name] = true
		path := filepath.Join(st.Dir, name)
		if b, err := os.ReadFile(path); err == nil && string(b) == s.Get(name) {
			continue
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s.Get(name)), 0o600); err != nil {
			return changed, fmt.Errorf("storing secret %s: %w", name, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return changed, fmt.Errorf("storing secret %s: %w", name, err)
		}
		changed = true
	}
	entries, err := os.ReadDir(st.Dir)
	if err != nil {
		return changed, fmt.Errorf("reading %s: %w", st.Dir, err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			os.Remove(filepath.Join(st.Dir, e.Name()))
			changed = true
		}
	}
	return changed, nil
}

// Get reads one secret.
func (st Store) Get(name string) (string, error) {
	if !env.ValidName(name) {
		return "", fmt.Errorf("secret name %q: only letters, digits and _", name)
	}
	b, err := os.ReadFile(filepath.Join(st.Dir, name))
	if err != nil {
		if os.IsNotExist(err) {
			return "", fmt.Errorf("secret %s is not set (no %s)", name, filepath.Join(st.Dir, name))
		}
		return "", fmt.Errorf("reading secret %s: %w", name, err)
	}
	return string(b), nil
}

// Names lists the stored secrets, sorted.
func (st Store) Names() ([]string, error) {
	entries, err := os.ReadDir(st.Dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", st.Dir, err)
	}
	var out []string
	for _, e := range entries {
		if env.ValidName(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}
