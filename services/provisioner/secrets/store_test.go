package secrets

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gpudesk/runtime/services/provisioner/env"
)

func TestStore_Sync(t *testing.T) {
	st := Store{Dir: filepath.Join(t.TempDir(), "secrets")}
	e := env.New()
	e.Set("A_TOKEN", "one")
	e.Set("B_KEY", "two")
	if changed, err := st.Sync(e); err != nil || !changed {
		t.Fatal(changed, err)
	}
	if changed, _ := st.Sync(e); changed {
		t.Error("unchanged secrets rewritten")
	}
	e.Unset("B_KEY")
	st.Sync(e)
	if names, _ := st.Names(); len(names) != 1 || names[0] != "A_TOKEN" {
		t.Errorf("names %v", names)
	}
	if fi, _ := os.Stat(st.Dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", fi.Mode())
	}
	if _, err := st.Get("B_KEY"); err == nil {
		t.Error("a removed secret is still there")
	}
	if _, err := st.Get("../etc/passwd"); err == nil {
		t.Error("a path was read as a secret name")
	}
	_, environ, _, err := Prepare(ExecSpec{Root: "/", Store: st, Pairs: [][2]string{{"TUNNEL_TOKEN", "A_TOKEN"}}, Argv: []string{"true"}, Environ: []string{"X=1"}})
	if err != nil || len(environ) != 2 || environ[0] != "TUNNEL_TOKEN=one" {
		t.Errorf("%v %v", environ, err)
	}
	if _, _, _, err := Prepare(ExecSpec{Store: st, Pairs: [][2]string{{"X", "MISSING_TOKEN"}}, Argv: []string{"true"}}); err == nil {
		t.Error("a missing secret is not an error")
	}
}
