package storagemonitor

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// mapHeader finds the `[[map]]` headers, to give entries a line number.
var mapHeader = regexp.MustCompile(`(?m)^[ \t]*\[\[[ \t]*map[ \t]*\]\]`)

// ParseTOML reads mappings in the TOML form:
//
//	[[map]]
//	storage = "models/checkpoints"
//	targets = ["/opt/ComfyUI/models/checkpoints", "/opt/stable-diffusion-webui/models/Stable-diffusion"]
//
// Each [[map]] entry is checked on its own: a bad entry is an error
// naming the file and the entry, and the other entries are kept. A file
// that is not valid TOML is an error for the whole file.
func ParseTOML(file string, data []byte) ([]Mapping, []error) {
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, []error{&MappingError{File: file, Err: fmt.Errorf("%w: line %d: %s", ErrSyntax, perr.Position.Line, perr.Message)}}
		}
		return nil, []error{&MappingError{File: file, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}}
	}
	var errs []error
	var unknown []string
	for k := range doc {
		if k != "map" {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, &MappingError{File: file, Err: fmt.Errorf("%w: unknown key %q (the file holds [[map]] entries with storage and targets)", ErrSyntax, k)})
	}
	raw, ok := doc["map"]
	if !ok {
		return nil, errs
	}
	var entries []any
	switch v := raw.(type) {
	case []map[string]any:
		for _, e := range v {
			entries = append(entries, e)
		}
	case []any:
		entries = v
	default:
		return nil, append(errs, &MappingError{File: file, Err: fmt.Errorf("%w: map must be a list of [[map]] tables, not a %s", ErrSyntax, tomlType(raw))})
	}
	var lines []int
	if hs := mapHeader.FindAllIndex(data, -1); len(hs) == len(entries) {
		for _, h := range hs {
			lines = append(lines, 1+strings.Count(string(data[:h[0]]), "\n"))
		}
	}
	var out []Mapping
	index := map[string]int{}
	for i, raw := range entries {
		entry := fmt.Sprintf("[[map]] #%d", i+1)
		if lines != nil {
			entry += fmt.Sprintf(" (line %d)", lines[i])
		}
		m, err := tomlEntry(file, entry, raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := index[m.Storage]; dup {
			errs = append(errs, &MappingError{File: file, Entry: entry, Err: fmt.Errorf("%w: storage folder %q is already mapped by %s; keeping that one", ErrMappingConflict, m.Storage, out[j].Entry)})
			continue
		}
		index[m.Storage] = len(out)
		out = append(out, m)
	}
	return out, errs
}

func tomlEntry(file, entry string, raw any) (Mapping, error) {
	bad := func(format string, args ...any) (Mapping, error) {
		return Mapping{}, &MappingError{File: file, Entry: entry, Err: fmt.Errorf(format, args...)}
	}
	t, ok := raw.(map[string]any)
	if !ok {
		return bad("%w: a map entry must be a table with storage and targets, not a %s", ErrSyntax, tomlType(raw))
	}
	var keys []string
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "storage" && k != "targets" {
			hint := ""
			if k == "target" {
				hint = "; did you mean targets = [\"/folder\"]?"
			}
			return bad("%w: unknown key %q (an entry has storage and targets)%s", ErrSyntax, k, hint)
		}
	}
	storage, ok := t["storage"].(string)
	if !ok {
		if t["storage"] == nil {
			return bad("%w: missing storage = \"folder/relative/to/storage\"", ErrBadStorage)
		}
		return bad("%w: storage must be a string, not a %s", ErrBadStorage, tomlType(t["storage"]))
	}
	rawTargets, ok := t["targets"].([]any)
	if !ok {
		if t["targets"] == nil {
			return bad("%w: storage folder %q: missing targets = [\"/absolute/folder\", …]", ErrBadTarget, storage)
		}
		return bad("%w: storage folder %q: targets must be a list of strings such as [\"/opt/app/models\"], not a %s", ErrBadTarget, storage, tomlType(t["targets"]))
	}
	targets := make([]string, 0, len(rawTargets))
	for _, rt := range rawTargets {
		s, ok := rt.(string)
		if !ok {
			return bad("%w: storage folder %q: targets must be strings, not a %s", ErrBadTarget, storage, tomlType(rt))
		}
		targets = append(targets, s)
	}
	return newMapping(file, entry, storage, targets)
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any, []map[string]any:
		return "list"
	case map[string]any:
		return "table"
	default:
		return fmt.Sprintf("%T", v)
	}
}
