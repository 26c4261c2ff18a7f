package storagemonitor

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// DefaultMappings is where the images keep their mappings file; a
// mappings.d folder next to it is read too.
const DefaultMappings = "/etc/storagemonitor/mappings.toml"

// Mapping maps one folder of the storage tree to the folders where its
// files are linked: storage/<Storage>/<sub>/file becomes
// <target>/<sub>/file, a symlink to the storage file, for every target.
type Mapping struct {
	// Storage is the folder relative to the storage root, clean and
	// slash-separated ("models/checkpoints").
	Storage string
	// Targets are absolute, clean folders, in the order written.
	Targets []string
	// File and Entry say where the mapping was read, for messages:
	// Entry is "line 4" in a mappings.sh file, or
	// `[[map]] #2 (line 7)` in a TOML file.
	File  string
	Entry string
}

// Errors a mappings file can cause; MappingError wraps them.
var (
	ErrSyntax          = errors.New("syntax error")
	ErrBadStorage      = errors.New("bad storage folder")
	ErrBadTarget       = errors.New("bad target")
	ErrMissingTarget   = errors.New("target folder does not exist")
	ErrMappingConflict = errors.New("conflicting mappings")
)

// MappingError is a problem with a mappings file, or with one entry of
// it. The other entries of the file are still used.
type MappingError struct {
	File  string
	Entry string // "" when the whole file is at fault
	Err   error
}

func (e *MappingError) Error() string {
	if e.Entry == "" {
		return e.File + ": " + e.Err.Error()
	}
	return e.File + ": " + e.Entry + ": " + e.Err.Error()
}

func (e *MappingError) Unwrap() error { return e.Err }

// cleanStorage checks a mapping's storage folder: relative to the
// storage root, never leaving it.
func cleanStorage(key string) (string, error) {
	switch {
	case key == "":
		return "", fmt.Errorf("%w: the storage folder is empty (give a folder relative to the storage root, such as \"models/checkpoints\")", ErrBadStorage)
	case strings.ContainsRune(key, 0):
		return "", fmt.Errorf("%w: %q contains a NUL byte", ErrBadStorage, key)
	case strings.HasPrefix(key, "/"):
		return "", fmt.Errorf("%w: %q is absolute; storage folders are relative to the storage root (such as \"models/checkpoints\")", ErrBadStorage, key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q contains \"..\"; storage folders stay inside the storage root", ErrBadStorage, key)
		}
	}
	c := path.Clean(key)
	if c == "." {
		return "", fmt.Errorf("%w: %q is the storage root itself; map a folder inside it", ErrBadStorage, key)
	}
	return c, nil
}

// cleanTarget checks one target folder: absolute, and not the root.
func cleanTarget(t string) (string, error) {
	switch {
	case t == "":
		return "", fmt.Errorf("%w: empty target folder", ErrBadTarget)
	case strings.ContainsRune(t, 0):
		return "", fmt.Errorf("%w: %q contains a NUL byte", ErrBadTarget, t)
	case !filepath.IsAbs(t):
		return "", fmt.Errorf("%w: %q is relative; targets must be absolute folders (such as \"/opt/ComfyUI/models/checkpoints\")", ErrBadTarget, t)
	}
	c := filepath.Clean(t)
	if c == "/" {
		return "", fmt.Errorf("%w: the root folder / cannot be a target", ErrBadTarget)
	}
	return c, nil
}

// newMapping checks a storage folder and its targets as read from file
// at entry; duplicate targets are dropped.
func newMapping(file, entry, key string, targets []string) (Mapping, error) {
	m := Mapping{File: file, Entry: entry}
	var err error
	if m.Storage, err = cleanStorage(key); err != nil {
		return m, &MappingError{File: file, Entry: entry, Err: err}
	}
	if len(targets) == 0 {
		return m, &MappingError{File: file, Entry: entry, Err: fmt.Errorf("%w: storage folder %q has no targets", ErrBadTarget, m.Storage)}
	}
	for _, t := range targets {
		c, err := cleanTarget(t)
		if err != nil {
			return m, &MappingError{File: file, Entry: entry, Err: err}
		}
		if !slices.Contains(m.Targets, c) {
			m.Targets = append(m.Targets, c)
		}
	}
	return m, nil
}

// Parse reads the mappings in data, from a file called name: TOML when
// the name ends in .toml, the bash form (mappings.sh) when it ends in
// .sh, and otherwise whichever the content looks like.
func Parse(name string, data []byte) ([]Mapping, []error) {
	switch {
	case strings.HasSuffix(name, ".toml"):
		return ParseTOML(name, data)
	case strings.HasSuffix(name, ".sh"), bytes.Contains(data, []byte("storage_map")):
		return ParseShell(name, data)
	default:
		return ParseTOML(name, data)
	}
}

// LoadMappings reads the mappings at p: a file (TOML or mappings.sh) and
// then the files of the mappings.d folder next to it, if there is one; or
// a folder, whose *.toml and *.sh files are read in name order. Entries
// of all files merge; the same storage folder mapped differently by two
// files is an error naming both, and the first file's entry is kept.
//
// Problems are returned as MappingErrors; the mappings that could be read
// are returned with them. Only a path that cannot be read at all leaves
// no files.
func LoadMappings(p string) (maps []Mapping, files []string, errs []error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, nil, []error{&MappingError{File: p, Err: fmt.Errorf("cannot read the mappings: %w", err)}}
	}
	if fi.IsDir() {
		files, errs = mappingFiles(p)
	} else {
		files = []string{p}
		dir := filepath.Join(filepath.Dir(p), "mappings.d")
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			more, derrs := mappingFiles(dir)
			files = append(files, more...)
			errs = append(errs, derrs...)
		}
	}
	var all []Mapping
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, &MappingError{File: f, Err: fmt.Errorf("cannot read the mappings file: %w", err)})
			continue
		}
		ms, perrs := Parse(f, data)
		all = append(all, ms...)
		errs = append(errs, perrs...)
	}
	maps, merrs := Merge(all)
	return maps, files, append(errs, merrs...)
}

// mappingFiles lists the mappings files of a folder: *.toml and *.sh,
// not hidden, sorted by name.
func mappingFiles(dir string) ([]string, []error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []error{&MappingError{File: dir, Err: fmt.Errorf("cannot read the mappings folder: %w", err)}}
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".toml") || strings.HasSuffix(name, ".sh")) {
			continue
		}
		if e.IsDir() {
			continue
		}
		files = append(files, filepath.Join(dir, name))
	}
	sort.Strings(files)
	return files, nil
}

// Merge combines mappings read from several files, keeping their order.
// A storage folder mapped by two files to the same targets is kept once;
// mapped to different targets it is an error naming both files, and the
// first mapping is kept.
func Merge(ms []Mapping) ([]Mapping, []error) {
	var out []Mapping
	var errs []error
	seen := map[string]int{}
	for _, m := range ms {
		i, ok := seen[m.Storage]
		if !ok {
			seen[m.Storage] = len(out)
			out = append(out, m)
			continue
		}
		prev := out[i]
		if slices.Equal(prev.Targets, m.Targets) {
			continue
		}
		errs = append(errs, &MappingError{File: m.File, Entry: m.Entry, Err: fmt.Errorf(
			"%w: storage folder %q is mapped to %s here and to %s by %s (%s); keeping the mapping of %s",
			ErrMappingConflict, m.Storage, strings.Join(m.Targets, " "), strings.Join(prev.Targets, " "), prev.File, prev.Entry, prev.File)})
	}
	return out, errs
}

// isNotExist is errors.Is(err, fs.ErrNotExist), also for ENOTDIR (a
// path component that is a file).
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir)
}
