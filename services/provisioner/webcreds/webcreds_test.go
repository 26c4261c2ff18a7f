package webcreds

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestEnsure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lib", File)
	r, err := Ensure(path, Input{User: "u", AuthEnabled: true})
	if err != nil || r.Password == "" || r.Token == "" || !r.Changed || !r.Creds.Generated {
		t.Fatalf("%+v %v", r, err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), r.Password) || strings.Contains(string(b), r.Token) {
		t.Error("a clear credential is in the file")
	}
	again, _ := Ensure(path, Input{User: "u", AuthEnabled: true})
	if again.Changed || again.Password != "" || again.Creds != r.Creds {
		t.Errorf("restart regenerated: %+v", again)
	}
	given, _ := Ensure(path, Input{User: "u", Password: "pw", Token: "tk", AuthEnabled: true})
	if !given.Changed || bcrypt.CompareHashAndPassword([]byte(given.Creds.PasswordHash), []byte("pw")) != nil || !given.Creds.TokenMatches("tk") || given.Creds.Generated {
		t.Errorf("%+v", given)
	}
	if same, _ := Ensure(path, Input{User: "u", Password: "pw", Token: "tk", AuthEnabled: true}); same.Changed {
		t.Error("the same password re-hashed (a restart must change nothing)")
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("x"), 4)
	withHash, _ := Ensure(path, Input{User: "u", PasswordHash: string(h)})
	if withHash.Creds.PasswordHash != string(h) || len(withHash.Warnings) != 0 {
		t.Errorf("%+v", withHash)
	}
	bad, _ := Ensure(path, Input{User: "u", PasswordHash: "$2a$10$short", Password: "fallback"})
	if len(bad.Warnings) != 1 || bcrypt.CompareHashAndPassword([]byte(bad.Creds.PasswordHash), []byte("fallback")) != nil {
		t.Errorf("%+v", bad)
	}
}
