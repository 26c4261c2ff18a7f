package tunnels

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "cloudflared" {
		os.Exit(standin())
	}
	os.Exit(m.Run())
}

// cloudflaredStandin returns the path of a "cloudflared" that is this
// test binary (see standin_test.go).
func cloudflaredStandin(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "cloudflared")
	if err := os.Symlink(self, p); err != nil {
		t.Fatal(err)
	}
	return p
}
