package sshkeys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// HostKeys makes sure etcSSH holds host keys and, when keep is not empty
// (a folder on the mounted workspace), that they are the ones kept there:
// keys in keep are copied to etcSSH; without any, the image's keys are
// copied into keep; without those either, an ed25519 key is made. So a
// new container on the same volume keeps its fingerprint. It reports
// whether etcSSH changed.
func HostKeys(etcSSH, keep string) (bool, error) {
	if err := os.MkdirAll(etcSSH, 0o755); err != nil {
		return false, fmt.Errorf("making %s: %w", etcSSH, err)
	}
	if keep != "" {
		if err := os.MkdirAll(keep, 0o700); err != nil {
			return false, fmt.Errorf("making %s: %w", keep, err)
		}
		os.Chown(keep, 0, 0)
		os.Chmod(keep, 0o700)
		kept := hostKeyFiles(keep)
		if len(kept) == 0 {
			if len(hostKeyFiles(etcSSH)) == 0 {
				if err := generate(etcSSH); err != nil {
					return false, err
				}
			}
			_, err := copyKeys(etcSSH, keep)
			return true, err
		}
		return copyKeys(keep, etcSSH)
	}
	if len(hostKeyFiles(etcSSH)) > 0 {
		return false, nil
	}
	return true, generate(etcSSH)
}

// hostKeyFiles lists ssh_host_*_key files (private keys) in dir.
func hostKeyFiles(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "ssh_host_*_key"))
	return m
}

// copyKeys copies every private host key of from, and its .pub, into to.
func copyKeys(from, to string) (bool, error) {
	changed := false
	for _, priv := range hostKeyFiles(from) {
		for _, p := range []string{priv, priv + ".pub"} {
			b, err := os.ReadFile(p)
			if err != nil {
				if os.IsNotExist(err) && strings.HasSuffix(p, ".pub") {
					continue
				}
				return changed, fmt.Errorf("reading host key %s: %w", p, err)
			}
			dst := filepath.Join(to, filepath.Base(p))
			mode := os.FileMode(0o600)
			if strings.HasSuffix(p, ".pub") {
				mode = 0o644
			}
			if cur, err := os.ReadFile(dst); err == nil && bytes.Equal(cur, b) {
				continue
			}
			if err := os.WriteFile(dst+".tmp", b, mode); err != nil {
				return changed, fmt.Errorf("writing host key %s: %w", dst, err)
			}
			if err := os.Rename(dst+".tmp", dst); err != nil {
				return changed, fmt.Errorf("writing host key %s: %w", dst, err)
			}
			changed = true
		}
	}
	return changed, nil
}

// generate makes an ed25519 host key pair in dir, in OpenSSH's formats.
func generate(dir string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating an ed25519 host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return fmt.Errorf("encoding the ed25519 host key: %w", err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encoding the ed25519 host key: %w", err)
	}
	path := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.WriteFile(path+".pub", append(bytes.TrimSpace(ssh.MarshalAuthorizedKey(sp)), []byte(" root@gpudesk\n")...), 0o644); err != nil {
		return fmt.Errorf("writing %s.pub: %w", path, err)
	}
	return nil
}
