package storagemonitor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkMappings holds for every mapping any parser returns: the storage
// folder is relative, clean and inside the storage root; the targets are
// absolute, clean and not /. Every error names the file.
func checkMappings(t *testing.T, file string, maps []Mapping, errs []error) {
	t.Helper()
	for _, m := range maps {
		if m.Storage == "" || strings.HasPrefix(m.Storage, "/") || m.Storage == "." || m.Storage == ".." ||
			strings.HasPrefix(m.Storage, "../") || strings.Contains(m.Storage, "/../") || strings.HasSuffix(m.Storage, "/..") ||
			filepath.Clean(m.Storage) != m.Storage || strings.ContainsRune(m.Storage, 0) {
			t.Fatalf("bad storage folder %q", m.Storage)
		}
		if len(m.Targets) == 0 {
			t.Fatalf("mapping %q without targets", m.Storage)
		}
		for _, tg := range m.Targets {
			if !filepath.IsAbs(tg) || filepath.Clean(tg) != tg || tg == "/" || strings.ContainsRune(tg, 0) {
				t.Fatalf("bad target %q", tg)
			}
		}
		if m.File != file || m.Entry == "" {
			t.Fatalf("mapping without its origin: %+v", m)
		}
	}
	for _, err := range errs {
		var me *MappingError
		if !errors.As(err, &me) || me.File != file || !strings.HasPrefix(err.Error(), file+": ") {
			t.Fatalf("error %q does not name the file", err)
		}
	}
}

func FuzzParseShell(f *testing.F) {
	for _, p := range []string{"testdata/aidock/comfyui-mappings.sh", "testdata/aidock/base-image-mappings.sh"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`storage_map["a b"]='/opt/x '"/opt/y"`,
		`storage_map[a]=/opt/\"x`,
		`storage_map["a"]="$X"`,
		"storage_map=()\nstorage_map[x]=/y # c",
		`declare -A storage_map=()`,
		`storage_map["../a"]="/opt/a"`,
		"storage_map[\"a\"]=\"/opt/a\r\n",
		`storage_map["a"]+="/b"`,
		`storage_map['`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		maps, errs := ParseShell("f.sh", data)
		checkMappings(t, "f.sh", maps, errs)
		seen := map[string]bool{}
		for _, m := range maps {
			if seen[m.Storage] {
				t.Fatalf("storage folder %q twice", m.Storage)
			}
			seen[m.Storage] = true
		}
	})
}

func FuzzParseTOML(f *testing.F) {
	if b, err := os.ReadFile("../../images/base/etc/storagemonitor/mappings.toml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"[[map]]\nstorage = \"a\"\ntargets = [\"/opt/a\", \"/opt/b\"]\n",
		"map = [{storage = \"a\", targets = [\"/x\"]}]",
		"map = 1",
		"[map]\nstorage = \"a\"",
		"[[map]]\nstorage = \"/a\"\ntargets = [1, \"rel\"]\n[[map]]\n",
		"[[map]]\nstorage = \"a\"\ntarget = \"/x\"\nextra = {a = 1}\n",
		"x = [[[[[[]]]]]]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		maps, errs := ParseTOML("f.toml", data)
		checkMappings(t, "f.toml", maps, errs)
		merged, merrs := Merge(append(maps, maps...))
		if len(merged) != len(maps) || len(merrs) != 0 {
			t.Fatalf("merging a file with itself: %d -> %d, %v", len(maps), len(merged), merrs)
		}
	})
}
