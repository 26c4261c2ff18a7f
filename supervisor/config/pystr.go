package config

// Python string semantics, from internal/pystr; the names are short
// because the loader uses them everywhere.

import (
	"errors"
	"fmt"

	"github.com/gpudesk/runtime/supervisor/internal/pystr"
)

func pyIsSpace(r rune) bool         { return pystr.IsSpace(r) }
func pyStrip(s string) string       { return pystr.Strip(s) }
func pyRStrip(s string) string      { return pystr.RStrip(s) }
func pyRepr(s string) string        { return pystr.Repr(s) }
func digitValue(r rune) (int, bool) { return pystr.DigitValue(r) }
func pyDirname(p string) string     { return pystr.Dirname(p) }
func pyJoin(parts ...string) string { return pystr.Join(parts...) }

var errIntRange = errors.New("integer out of range")

// pyInt parses s as Python's int(s, base). Values that do not fit in an
// int64 return errIntRange (Python would accept them; we cannot use them).
func pyInt(s string, base int) (int64, error) {
	n, ok := pystr.ParseInt(s, base)
	if !ok {
		return 0, fmt.Errorf("invalid literal for int() with base %d: %s", base, pyRepr(s))
	}
	if !n.IsInt64() {
		return 0, fmt.Errorf("%s: %w", pyRepr(s), errIntRange)
	}
	return n.Int64(), nil
}
