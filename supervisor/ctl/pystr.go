package ctl

// Python string semantics that supervisorctl's output depends on: which
// runes str.split and str.strip treat as whitespace, repr() for quoting,
// and what int() accepts.

import (
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/gpudesk/runtime/supervisor/internal/pystr"
)

func pyIsSpace(r rune) bool           { return pystr.IsSpace(r) }
func pySplit(s string) []string       { return pystr.Fields(s) }
func pyStrip(s string) string         { return pystr.Strip(s) }
func pyRepr(s string) string          { return pystr.Repr(s) }
func pyBytesRepr(p []byte) string     { return pystr.BytesRepr(p) }
func pyInt(s string) (*big.Int, bool) { return pystr.ParseInt(s, 10) }

// xmlrpcInt converts n to an XML-RPC int; ok is false when Python's
// marshaller would refuse it ("int exceeds XML-RPC limits").
func xmlrpcInt(n *big.Int) (int, bool) {
	if !n.IsInt64() {
		return 0, false
	}
	v := n.Int64()
	if v > 1<<31-1 || v < -(1<<31) {
		return 0, false
	}
	return int(v), true
}

// padRight pads s with spaces to width runes, as Python's "%-Ns" does.
func padRight(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// pyLower is Python's str.lower().
func pyLower(s string) string { return strings.ToLower(s) }
