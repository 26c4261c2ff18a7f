// Package shellenv writes the environment file that interactive shells
// and existing ai-dock scripts source (/opt/ai-dock/etc/environment.sh):
// one `export NAME='value'` line per variable, quoted so that any value
// reads back byte for byte in bash and dash.
package shellenv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gpudesk/runtime/services/provisioner/env"
)

// Marker separates what the image wrote into the file at build time
// (kept) from what each boot writes (replaced). ai-dock's file has the
// same header.
const Marker = "# RUNTIME INSTRUCTIONS"

// Quote quotes s for POSIX shells: inside single quotes every byte is
// literal except the quote itself, written as '\” (close, escaped quote,
// open).
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// skipped are variables of one process, not of the container.
var skipped = map[string]bool{"HOME": true, "PWD": true, "OLDPWD": true, "SHLVL": true, "_": true, "HOSTNAME": true}

// Render returns the runtime part of the file for e: every variable but
// secrets, per-process ones and names a shell cannot export.
func Render(e *env.Env) []byte {
	var b bytes.Buffer
	b.WriteString(Marker + "\n# Written by provisioner boot at every start; edits below this line are lost.\n# Secrets are not here: see /run/gpudesk/secrets (root only).\n")
	for _, k := range e.Names() {
		if skipped[k] || env.IsSecret(k) || !env.ValidName(k) {
			continue
		}
		b.WriteString("export " + k + "=" + Quote(e.Get(k)) + "\n")
	}
	return b.Bytes()
}

// Write replaces the runtime part of the file at path with Render(e),
// keeping what stands before Marker (or the whole file when it has no
// marker), atomically, mode 0644. It reports whether the file changed.
func Write(path string, e *env.Env) (bool, error) {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	head := old
	if i := bytes.Index(old, []byte(Marker+"\n")); i >= 0 && (i == 0 || old[i-1] == '\n') {
		head = old[:i]
	} else if len(head) > 0 && head[len(head)-1] != '\n' {
		head = append(append([]byte{}, head...), '\n')
	}
	content := append(append([]byte{}, head...), Render(e)...)
	if bytes.Equal(content, old) {
		return false, nil
	}
	return true, WriteAtomic(path, content, 0o644)
}

// WriteAtomic writes content to a temporary file next to path and renames
// it over path, so a reader never sees half a file.
func WriteAtomic(path string, content []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("making %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(content); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
