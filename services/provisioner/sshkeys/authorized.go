// Package sshkeys merges the SSH public keys a container is given (a
// mounted file, SSH_PUBKEY, RunPod's PUBLIC_KEY, Vast's SSH_PUBLIC_KEY)
// into authorized_keys files, and keeps the host keys on the workspace
// volume so that a new container keeps its fingerprint.
package sshkeys

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Source is one place keys come from; Name is what a warning calls it.
type Source struct {
	Name string
	Text string
}

// Merge returns the lines of existing followed by every valid key of the
// sources that is not there yet (the same key with another comment or
// options counts as there). Lines of existing are kept as they are; a
// source line that is not a key is left out and reported by source and
// line number, never by content (a pasted private key must not reach the
// logs). n is the number of valid keys in the result.
func Merge(existing []byte, sources []Source) (out []byte, n int, warnings []string) {
	seen := map[string]bool{}
	var b bytes.Buffer
	for _, line := range strings.Split(string(existing), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil {
			id := string(k.Marshal())
			if seen[id] {
				continue
			}
			seen[id] = true
			n++
		}
		b.WriteString(line + "\n")
	}
	for _, src := range sources {
		for i, line := range strings.Split(src.Text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("%s line %d is not an SSH public key (one \"type base64 [comment]\" line per key, as in authorized_keys); left out", src.Name, i+1))
				continue
			}
			id := string(k.Marshal())
			if seen[id] {
				continue
			}
			seen[id] = true
			n++
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes(), n, warnings
}

// Install merges sources into the authorized_keys file at path (folder
// 0700, file 0600, both owned by uid:gid) and returns the number of keys.
// The file is rewritten only when its content changes.
func Install(path string, uid, gid int, sources []Source) (int, []string, error) {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return 0, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	content, n, warn := Merge(old, sources)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return n, warn, fmt.Errorf("making %s: %w", dir, err)
	}
	if err := fixOwner(dir, 0o700, uid, gid); err != nil {
		return n, warn, err
	}
	if !bytes.Equal(content, old) || old == nil {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, content, 0o600); err != nil {
			return n, warn, fmt.Errorf("writing %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return n, warn, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return n, warn, fixOwner(path, 0o600, uid, gid)
}

func fixOwner(path string, mode os.FileMode, uid, gid int) error {
	if err := os.Lchown(path, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return nil
}
