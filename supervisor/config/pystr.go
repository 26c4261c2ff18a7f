package config

// Python string semantics that the config format depends on: which runes
// are whitespace, how str.strip, str.lower and repr behave, and what int()
// accepts. Supervisor's messages quote values with repr, so ours do too.

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pyIsSpace reports whether Python's str.isspace is true for r.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyStrip(s string) string  { return strings.TrimFunc(s, pyIsSpace) }
func pyRStrip(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }

// pyRepr returns Python's repr() of a str.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for i, w := 0, 0; i < len(s); i += w {
		r, width := utf8.DecodeRuneInString(s[i:])
		w = width
		if r == utf8.RuneError && width == 1 {
			// Python str cannot hold undecodable bytes; show them escaped.
			fmt.Fprintf(&b, "\\x%02x", s[i])
			continue
		}
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(quote):
			b.WriteByte('\\')
			b.WriteByte(quote)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r < 0x7f:
			b.WriteRune(r)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r < 0x10000:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// digitValue returns the decimal value of a Unicode decimal digit (category
// Nd), as Python's int() reads it. Nd digits come in runs of ten starting at
// zero, so the value is the offset from the start of the run, modulo ten.
func digitValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < 0x80 || !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return int(r-start) % 10, true
}

var errIntRange = errors.New("integer out of range")

// pyInt parses s the way Python's int(s, base) does for base 10 and 8:
// surrounding whitespace, a sign, digits with single underscores between
// them, and for base 8 an optional 0o prefix. Values that do not fit in an
// int64 return errIntRange (Python would accept them; we cannot use them).
func pyInt(s string, base int) (int64, error) {
	bad := fmt.Errorf("invalid literal for int() with base %d: %s", base, pyRepr(s))
	t := pyStrip(s)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if base == 8 && len(t) >= 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O') {
		t = t[2:]
		if strings.HasPrefix(t, "_") {
			t = t[1:]
		}
	}
	if t == "" {
		return 0, bad
	}
	n := new(big.Int)
	b := big.NewInt(int64(base))
	prevUnderscore := true // forbids a leading underscore
	for _, r := range t {
		if r == '_' {
			if prevUnderscore {
				return 0, bad
			}
			prevUnderscore = true
			continue
		}
		d, ok := digitValue(r)
		if !ok || d >= base {
			return 0, bad
		}
		prevUnderscore = false
		n.Mul(n, b)
		n.Add(n, big.NewInt(int64(d)))
	}
	if prevUnderscore {
		return 0, bad
	}
	if neg {
		n.Neg(n)
	}
	if !n.IsInt64() {
		return 0, fmt.Errorf("%s: %w", pyRepr(s), errIntRange)
	}
	return n.Int64(), nil
}
