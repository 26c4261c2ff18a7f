package storagemonitor

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseShell_AidockFiles(t *testing.T) {
	data, err := os.ReadFile("testdata/aidock/comfyui-mappings.sh")
	if err != nil {
		t.Fatal(err)
	}
	maps, errs := ParseShell("comfyui-mappings.sh", data)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(maps) != 20 {
		t.Fatalf("got %d mappings, want 20", len(maps))
	}
	first := maps[0]
	if first.Storage != "stable_diffusion/models/ckpt" || !reflect.DeepEqual(first.Targets, []string{"/opt/ComfyUI/models/checkpoints"}) || first.Entry != "line 4" {
		t.Fatalf("first mapping = %+v", first)
	}
	last := maps[19]
	if last.Storage != "stable_diffusion/models/vae_approx" || last.Targets[0] != "/opt/ComfyUI/models/upscale_models" {
		t.Fatalf("last mapping = %+v", last)
	}

	data, err = os.ReadFile("testdata/aidock/base-image-mappings.sh")
	if err != nil {
		t.Fatal(err)
	}
	maps, errs = ParseShell("base-image-mappings.sh", data)
	if len(maps) != 0 || len(errs) != 0 {
		t.Fatalf("base image: %v %v", maps, errs)
	}
}

func TestParseShell_Forms(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		storage string
		targets []string
	}{
		{"double quotes", `storage_map["my/models"]="/opt/app_1/models /opt/app_2/models"`, "my/models", []string{"/opt/app_1/models", "/opt/app_2/models"}},
		{"single quotes", `storage_map['my/models']='/opt/a'`, "my/models", []string{"/opt/a"}},
		{"bare words", `storage_map[my/models]=/opt/a`, "my/models", []string{"/opt/a"}},
		{"indented, trailing comment", "  storage_map[\"m\"]=\"/opt/a\"   # models", "m", []string{"/opt/a"}},
		{"semicolon", `storage_map["m"]="/opt/a";`, "m", []string{"/opt/a"}},
		{"CRLF", "storage_map[\"m\"]=\"/opt/a\"\r", "m", []string{"/opt/a"}},
		{"tabs and several blanks", "storage_map[\"m\"]=\"/opt/a \t /opt/b\"", "m", []string{"/opt/a", "/opt/b"}},
		{"space in key", `storage_map[my models]="/opt/a"`, "my models", []string{"/opt/a"}},
		{"quoted space in key", `storage_map["my models/x y"]="/opt/a"`, "my models/x y", []string{"/opt/a"}},
		{"unicode", `storage_map["modèles/日本"]="/opt/ünï"`, "modèles/日本", []string{"/opt/ünï"}},
		{"escapes in double quotes", `storage_map["a\"b"]="/opt/\$x\\y"`, `a"b`, []string{`/opt/$x\y`}},
		{"concatenated quotes", `storage_map["m"]="/opt/a "'/opt/b'`, "m", []string{"/opt/a", "/opt/b"}},
		{"trailing slash and dot", `storage_map["./m/"]="/opt/a/"`, "m", []string{"/opt/a"}},
		{"duplicate target", `storage_map["m"]="/opt/a /opt/a"`, "m", []string{"/opt/a"}},
		{"hash inside value", `storage_map["m"]=/opt/a#b`, "m", []string{"/opt/a#b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maps, errs := ParseShell("m.sh", []byte("declare -A storage_map\n"+tt.line+"\n"))
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if len(maps) != 1 || maps[0].Storage != tt.storage || !reflect.DeepEqual(maps[0].Targets, tt.targets) {
				t.Fatalf("got %+v, want %q -> %q", maps, tt.storage, tt.targets)
			}
			if maps[0].File != "m.sh" || maps[0].Entry != "line 2" {
				t.Fatalf("origin %q %q", maps[0].File, maps[0].Entry)
			}
		})
	}
}

func TestParseShell_Semantics(t *testing.T) {
	src := `#!/bin/bash
# comment with storage_map["x"]="/no"
declare -A storage_map
typeset -gA storage_map
storage_map["a"]="/opt/1"
storage_map["b"]="/opt/2"
storage_map["a"]="/opt/3"
echo "unrelated lines are ignored"
export FOO=bar
`
	maps, errs := ParseShell("m.sh", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []Mapping{
		{Storage: "a", Targets: []string{"/opt/3"}, File: "m.sh", Entry: "line 7"},
		{Storage: "b", Targets: []string{"/opt/2"}, File: "m.sh", Entry: "line 6"},
	}
	if !reflect.DeepEqual(maps, want) {
		t.Fatalf("got %+v\nwant %+v", maps, want)
	}

	maps, errs = ParseShell("m.sh", []byte("storage_map[\"a\"]=\"/opt/1\"\nstorage_map=()\nstorage_map[\"b\"]=\"/opt/2\"\n"))
	if len(errs) > 0 || len(maps) != 1 || maps[0].Storage != "b" {
		t.Fatalf("reset: %+v %v", maps, errs)
	}
}

func TestParseShell_Errors(t *testing.T) {
	tests := []struct {
		name, line, want string
		is               error
	}{
		{"variable", `storage_map["m"]="$WORKSPACE/x"`, "expansions ($) are not supported", ErrSyntax},
		{"braced variable", `storage_map["m"]=${X}`, "expansions ($) are not supported", ErrSyntax},
		{"command substitution", "storage_map[\"m\"]=`pwd`", "expansions (`) are not supported", ErrSyntax},
		{"variable key", `storage_map[$k]="/opt/a"`, "in the key: expansions", ErrSyntax},
		{"append", `storage_map["m"]+=" /opt/b"`, "appending with += is not supported", ErrSyntax},
		{"space before =", `storage_map["m"] ="/opt/a"`, "missing = after storage_map[m]", ErrSyntax},
		{"unterminated", `storage_map["m"]="/opt/a`, "unterminated double quote", ErrSyntax},
		{"unterminated single", `storage_map['m]=/opt/a`, "in the key: unterminated single quote", ErrSyntax},
		// Targets are split on blanks as the images' `read -ra` did, so a
		// folder with a space cannot be written in this form (use TOML).
		{"escaped space", `storage_map["m"]=/opt/my\ app`, `"app" is relative`, ErrBadTarget},
		{"compound", `storage_map=(["a"]="/opt/a")`, "only storage_map", ErrSyntax},
		{"array value", `storage_map["m"]=("/opt/a")`, "the value is an array", ErrSyntax},
		{"tilde", `storage_map["m"]=~/models`, "~ is not expanded", ErrSyntax},
		{"trailing text", `storage_map["m"]="/opt/a" /opt/b`, `unexpected text "/opt/b"`, ErrSyntax},
		{"pipe", `storage_map["m"]=/opt/a|x`, `unexpected '|'`, ErrSyntax},
		{"continuation", `storage_map["m"]="/opt/a" \`, "", ErrSyntax},
		{"relative target", `storage_map["m"]="opt/a"`, `"opt/a" is relative`, ErrBadTarget},
		{"one relative target", `storage_map["m"]="/opt/a models"`, `"models" is relative`, ErrBadTarget},
		{"no targets", `storage_map["m"]=""`, "has no targets", ErrBadTarget},
		{"root target", `storage_map["m"]="/"`, "the root folder / cannot be a target", ErrBadTarget},
		{"absolute key", `storage_map["/models"]="/opt/a"`, `"/models" is absolute`, ErrBadStorage},
		{"dotdot key", `storage_map["models/../../x"]="/opt/a"`, `contains ".."`, ErrBadStorage},
		{"empty key", `storage_map[""]="/opt/a"`, "the storage folder is empty", ErrBadStorage},
		{"dot key", `storage_map["."]="/opt/a"`, "is the storage root itself", ErrBadStorage},
		{"unset", `unset storage_map["m"]`, "only storage_map", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "storage_map[\"ok\"]=\"/opt/ok\"\n" + tt.line + "\nstorage_map[\"ok2\"]=\"/opt/ok2\"\n"
			maps, errs := ParseShell("/etc/m.sh", []byte(src))
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			err := errs[0]
			if !errors.Is(err, tt.is) {
				t.Fatalf("error %v is not %v", err, tt.is)
			}
			var me *MappingError
			if !errors.As(err, &me) || me.File != "/etc/m.sh" || me.Entry != "line 2" {
				t.Fatalf("error %v does not name the file and line", err)
			}
			if !strings.HasPrefix(err.Error(), "/etc/m.sh: line 2: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
			if len(maps) != 2 {
				t.Fatalf("the good lines around the bad one were not kept: %+v", maps)
			}
		})
	}
}

func TestParseTOML(t *testing.T) {
	src := `# comment
[[map]]
storage = "models/checkpoints"
targets = ["/opt/ComfyUI/models/checkpoints", "/opt/webui/models/Stable-diffusion"]

[[map]]
storage = "models/lora/"
targets = ["/opt/ComfyUI/models/loras"]
`
	maps, errs := ParseTOML("m.toml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []Mapping{
		{Storage: "models/checkpoints", Targets: []string{"/opt/ComfyUI/models/checkpoints", "/opt/webui/models/Stable-diffusion"}, File: "m.toml", Entry: "[[map]] #1 (line 2)"},
		{Storage: "models/lora", Targets: []string{"/opt/ComfyUI/models/loras"}, File: "m.toml", Entry: "[[map]] #2 (line 6)"},
	}
	if !reflect.DeepEqual(maps, want) {
		t.Fatalf("got %+v\nwant %+v", maps, want)
	}

	maps, errs = ParseTOML("inline.toml", []byte(`map = [{storage = "a", targets = ["/opt/a"]}]`))
	if len(errs) > 0 || len(maps) != 1 || maps[0].Entry != "[[map]] #1" {
		t.Fatalf("inline tables: %+v %v", maps, errs)
	}

	maps, errs = ParseTOML("empty.toml", []byte("# nothing mapped\n"))
	if len(errs) > 0 || len(maps) != 0 {
		t.Fatalf("empty: %+v %v", maps, errs)
	}
}

func TestParseTOML_Errors(t *testing.T) {
	good := "[[map]]\nstorage = \"ok\"\ntargets = [\"/opt/ok\"]\n"
	tests := []struct {
		name, entry, want, entryName string
		is                           error
	}{
		{"relative target", `storage = "m"` + "\n" + `targets = ["opt/a"]`, `"opt/a" is relative`, "[[map]] #2 (line 4)", ErrBadTarget},
		{"target string", `storage = "m"` + "\n" + `targets = "/opt/a"`, "targets must be a list of strings", "[[map]] #2 (line 4)", ErrBadTarget},
		{"target number", `storage = "m"` + "\n" + `targets = [1]`, "targets must be strings, not a integer", "[[map]] #2 (line 4)", ErrBadTarget},
		{"missing targets", `storage = "m"`, "missing targets", "[[map]] #2 (line 4)", ErrBadTarget},
		{"missing storage", `targets = ["/opt/a"]`, "missing storage", "[[map]] #2 (line 4)", ErrBadStorage},
		{"storage number", `storage = 3` + "\n" + `targets = ["/opt/a"]`, "storage must be a string", "[[map]] #2 (line 4)", ErrBadStorage},
		{"absolute storage", `storage = "/m"` + "\n" + `targets = ["/opt/a"]`, "is absolute", "[[map]] #2 (line 4)", ErrBadStorage},
		{"dotdot storage", `storage = ".."` + "\n" + `targets = ["/opt/a"]`, `contains ".."`, "[[map]] #2 (line 4)", ErrBadStorage},
		{"typo key", `storage = "m"` + "\n" + `target = ["/opt/a"]`, "did you mean targets", "[[map]] #2 (line 4)", ErrSyntax},
		{"duplicate", `storage = "ok"` + "\n" + `targets = ["/opt/other"]`, `"ok" is already mapped by [[map]] #1 (line 1)`, "[[map]] #2 (line 4)", ErrMappingConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := good + "[[map]]\n" + tt.entry + "\n" + strings.ReplaceAll(good, "ok", "ok2")
			maps, errs := ParseTOML("/etc/m.toml", []byte(src))
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			if !errors.Is(errs[0], tt.is) {
				t.Fatalf("error %v is not %v", errs[0], tt.is)
			}
			prefix := "/etc/m.toml: " + tt.entryName + ": "
			if msg := errs[0].Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.want) {
				t.Fatalf("error %q, want prefix %q and %q", msg, prefix, tt.want)
			}
			if len(maps) != 2 {
				t.Fatalf("the good entries were not kept: %+v", maps)
			}
		})
	}

	for _, tt := range []struct{ name, src, want string }{
		{"syntax", "[[map]\nstorage = 1", "/etc/m.toml: syntax error: line 2: expected end of table array name"},
		{"unknown top key", "version = 2\n" + good, `/etc/m.toml: syntax error: unknown key "version"`},
		{"map not a list", "map = 3", "map must be a list of [[map]] tables, not a integer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := ParseTOML("/etc/m.toml", []byte(tt.src))
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Fatalf("errors %v, want one containing %q", errs, tt.want)
			}
		})
	}
}

func TestParseTOML_ExampleFile(t *testing.T) {
	data, err := os.ReadFile("../../images/base/etc/storagemonitor/mappings.toml")
	if err != nil {
		t.Fatal(err)
	}
	maps, errs := ParseTOML("mappings.toml", data)
	if len(maps) != 0 || len(errs) != 0 {
		t.Fatalf("the shipped file maps nothing: %+v %v", maps, errs)
	}
	// The commented example must be valid when uncommented.
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "# "); ok && (strings.HasPrefix(rest, "[[map]]") || strings.HasPrefix(rest, "storage =") || strings.HasPrefix(rest, "targets =")) {
			lines = append(lines, rest)
		}
	}
	maps, errs = ParseTOML("mappings.toml", []byte(strings.Join(lines, "\n")))
	if len(errs) != 0 || len(maps) != 2 || maps[0].Storage != "stable_diffusion/models/ckpt" || len(maps[0].Targets) != 2 {
		t.Fatalf("example: %+v %v", maps, errs)
	}
}

func TestLoadMappings(t *testing.T) {
	t.Run("file plus mappings.d", func(t *testing.T) {
		dir := t.TempDir()
		main := filepath.Join(dir, "mappings.toml")
		write(t, main, "[[map]]\nstorage = \"a\"\ntargets = [\"/opt/a\"]\n")
		write(t, filepath.Join(dir, "mappings.d", "20-app.sh"), "storage_map[\"c\"]=\"/opt/c\"\n")
		write(t, filepath.Join(dir, "mappings.d", "10-app.toml"), "[[map]]\nstorage = \"b\"\ntargets = [\"/opt/b\"]\n")
		write(t, filepath.Join(dir, "mappings.d", "README.md"), "not read")
		write(t, filepath.Join(dir, "mappings.d", ".hidden.toml"), "not read = [")
		maps, files, errs := LoadMappings(main)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		var got []string
		for _, m := range maps {
			got = append(got, m.Storage)
		}
		if strings.Join(got, ",") != "a,b,c" || len(files) != 3 || files[1] != filepath.Join(dir, "mappings.d", "10-app.toml") {
			t.Fatalf("got %v from %v", got, files)
		}
	})
	t.Run("folder, conflict names both files", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "a.toml"), "[[map]]\nstorage = \"models\"\ntargets = [\"/opt/a\"]\n[[map]]\nstorage = \"same\"\ntargets = [\"/opt/s\"]\n")
		write(t, filepath.Join(dir, "b.sh"), "storage_map[\"models\"]=\"/opt/b\"\nstorage_map[\"same\"]=\"/opt/s\"\nstorage_map[\"other\"]=\"/opt/o\"\n")
		maps, _, errs := LoadMappings(dir)
		if len(errs) != 1 {
			t.Fatalf("errors %v, want 1", errs)
		}
		msg := errs[0].Error()
		for _, want := range []string{filepath.Join(dir, "b.sh") + ": line 1: ", filepath.Join(dir, "a.toml") + " ([[map]] #1 (line 1))", `"models"`, "keeping the mapping of " + filepath.Join(dir, "a.toml")} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
		}
		if !errors.Is(errs[0], ErrMappingConflict) {
			t.Errorf("not ErrMappingConflict: %v", errs[0])
		}
		if len(maps) != 3 || maps[0].Targets[0] != "/opt/a" || maps[2].Storage != "other" {
			t.Fatalf("maps %+v", maps)
		}
	})
	t.Run("unreadable file", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "a.toml"), "[[map]]\nstorage = \"a\"\ntargets = [\"/opt/a\"]\n")
		symlink(t, filepath.Join(dir, "nowhere.toml"), filepath.Join(dir, "b.toml"))
		maps, _, errs := LoadMappings(dir)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), filepath.Join(dir, "b.toml")+": cannot read the mappings file") {
			t.Fatalf("errors %v", errs)
		}
		if len(maps) != 1 {
			t.Fatalf("the readable file was not used: %+v", maps)
		}
	})
	t.Run("missing path", func(t *testing.T) {
		_, _, errs := LoadMappings("/nonexistent/mappings.toml")
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "/nonexistent/mappings.toml: cannot read the mappings: ") {
			t.Fatalf("errors %v", errs)
		}
	})
	t.Run("the ai-dock file by name", func(t *testing.T) {
		maps, _, errs := LoadMappings("testdata/aidock/comfyui-mappings.sh")
		if len(errs) > 0 || len(maps) != 20 {
			t.Fatalf("%d mappings, errors %v", len(maps), errs)
		}
	})
	t.Run("content sniffing without extension", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "mappings")
		write(t, p, "storage_map[\"a\"]=\"/opt/a\"\n")
		maps, _, errs := LoadMappings(p)
		if len(errs) > 0 || len(maps) != 1 {
			t.Fatalf("%+v %v", maps, errs)
		}
	})
}
