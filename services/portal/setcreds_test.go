package portal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpudesk/runtime/services/provisioner/webcreds"
	"golang.org/x/crypto/bcrypt"
)

func TestSetWebCredentials(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, webcreds.File)
	if _, err := webcreds.Ensure(path, webcreds.Input{User: "old", Password: "old password", Token: "tok-0123456789", AuthEnabled: false}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	// The password from stdin keeps it out of ps.
	if err := SetWebCredentials([]string{"--root", root, "alice", "-"}, nil, strings.NewReader("a long new password\n"), &out); err != nil {
		t.Fatal(err)
	}
	c, err := webcreds.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "alice" || bcrypt.CompareHashAndPassword([]byte(c.PasswordHash), []byte("a long new password")) != nil {
		t.Fatalf("creds %+v", c)
	}
	if !c.TokenMatches("tok-0123456789") || c.AuthEnabled {
		t.Fatalf("token or auth_enabled not kept: %+v", c)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	if !strings.Contains(out.String(), "sessions made before have ended") {
		t.Fatalf("output %q", out.String())
	}
	out.Reset()
	if err := SetWebCredentials([]string{"--root", root, "--new-token", "alice", "a long new password"}, nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(out.String(), "\n", 2)[0], "new WEB_TOKEN (shown once): "))
	if c, _ := webcreds.Read(path); len(tok) != 32 || !c.TokenMatches(tok) {
		t.Fatalf("new token %q not stored (output %q)", tok, out.String())
	}
	for _, args := range [][]string{{}, {"a:b", "password123"}, {"alice", "short"}, {"a", "b", "c"}} {
		if err := SetWebCredentials(append([]string{"--root", root}, args...), nil, strings.NewReader(""), &out); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
