package sshkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func key(t *testing.T) string {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}

func TestMerge(t *testing.T) {
	a, b := key(t), key(t)
	existing := "# mine\n" + `command="echo hi" ` + a + " old\ngarbage kept as it is\n"
	out, n, warn := Merge([]byte(existing), []Source{
		{Name: "SSH_PUBKEY", Text: a + " same key new comment\r\n\n" + b},
		{Name: "PUBLIC_KEY", Text: "-----BEGIN OPENSSH PRIVATE KEY-----\n" + b + " again"},
	})
	want := existing + b + "\n"
	if string(out) != want || n != 2 {
		t.Errorf("got %d keys:\n%s\nwant:\n%s", n, out, want)
	}
	if len(warn) != 1 || !strings.HasPrefix(warn[0], "PUBLIC_KEY line 1 is not an SSH public key") || strings.Contains(warn[0], "PRIVATE") {
		t.Errorf("warnings %q", warn)
	}
}

func TestHostKeys(t *testing.T) {
	etc, keep := t.TempDir(), filepath.Join(t.TempDir(), "keep")
	if _, err := HostKeys(etc, ""); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(etc, "ssh_host_ed25519_key"))
	if _, err := ssh.ParsePrivateKey(b); err != nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(etc, "ssh_host_ed25519_key")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if changed, _ := HostKeys(etc, ""); changed {
		t.Error("existing keys replaced")
	}
	// The image's key goes to the volume; a new container takes it back.
	HostKeys(etc, keep)
	etc2 := t.TempDir()
	HostKeys(etc2, keep)
	b2, _ := os.ReadFile(filepath.Join(etc2, "ssh_host_ed25519_key"))
	if string(b2) != string(b) {
		t.Error("the kept key was not restored")
	}
}

// FuzzMerge: any key text merges without a panic, the result holds only
// lines of existing or valid keys, and no warning repeats a source line.
func FuzzMerge(f *testing.F) {
	f.Add("", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x")
	f.Add("garbage\n", "ssh-rsa AAAA\n\n#c\n")
	f.Fuzz(func(t *testing.T, existing, text string) {
		out, n, warn := Merge([]byte(existing), []Source{{Name: "SSH_PUBKEY", Text: text}})
		if n < 0 || (len(out) > 0 && out[len(out)-1] != '\n') {
			t.Fatalf("n %d out %q", n, out)
		}
		for _, w := range warn {
			if !strings.HasPrefix(w, "SSH_PUBKEY line ") {
				t.Fatalf("warning %q", w)
			}
		}
	})
}
