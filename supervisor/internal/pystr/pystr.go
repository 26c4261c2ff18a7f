// Package pystr holds the Python string semantics that supervisor's file
// format and messages depend on: which runes are whitespace, str.strip,
// repr() of str and bytes, and what int() accepts.
package pystr

import (
	"fmt"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IsSpace reports whether Python's str.isspace is true for r.
func IsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// Strip and RStrip are str.strip() and str.rstrip().
func Strip(s string) string  { return strings.TrimFunc(s, IsSpace) }
func RStrip(s string) string { return strings.TrimRightFunc(s, IsSpace) }

// Fields is str.split() with no separator.
func Fields(s string) []string { return strings.FieldsFunc(s, IsSpace) }

// Repr returns Python's repr() of a str.
func Repr(s string) string {
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

// BytesRepr returns Python's repr() of a bytes value.
func BytesRepr(p []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(p), '\'') >= 0 && strings.IndexByte(string(p), '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte('b')
	b.WriteByte(quote)
	for _, c := range p {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == quote:
			b.WriteByte('\\')
			b.WriteByte(quote)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// DigitValue returns the decimal value of a Unicode decimal digit (category
// Nd), as Python's int() reads it. Nd digits come in runs of ten starting at
// zero, so the value is the offset from the start of the run, modulo ten.
func DigitValue(r rune) (int, bool) {
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

// ParseInt parses s as Python's int(s, base) does for base 10 and 8:
// surrounding whitespace, a sign, digits with single underscores between
// them, and for base 8 an optional 0o prefix. The result is unbounded, as
// Python's integers are.
func ParseInt(s string, base int) (*big.Int, bool) {
	t := Strip(s)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if base == 8 && len(t) >= 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O') {
		t = strings.TrimPrefix(t[2:], "_")
	}
	if t == "" {
		return nil, false
	}
	if v, ok := smallInt(t, base); ok {
		if neg {
			v = -v
		}
		return big.NewInt(v), true
	}
	n := new(big.Int)
	b := big.NewInt(int64(base))
	prevUnderscore := true // forbids a leading underscore
	for _, r := range t {
		if r == '_' {
			if prevUnderscore {
				return nil, false
			}
			prevUnderscore = true
			continue
		}
		d, ok := DigitValue(r)
		if !ok || d >= base {
			return nil, false
		}
		prevUnderscore = false
		n.Mul(n, b)
		n.Add(n, big.NewInt(int64(d)))
	}
	if prevUnderscore {
		return nil, false
	}
	if neg {
		n.Neg(n)
	}
	return n, true
}

// Dirname is os.path.dirname: everything before the last '/', with
// trailing slashes removed unless it is all slashes.
func Dirname(p string) string {
	i := strings.LastIndexByte(p, '/') + 1
	head := p[:i]
	if head != "" && strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return head
}

// Join is os.path.join: an absolute part starts over.
func Join(parts ...string) string {
	out := ""
	for i, p := range parts {
		switch {
		case i == 0, strings.HasPrefix(p, "/"):
			out = p
		case out == "" || strings.HasSuffix(out, "/"):
			out += p
		default:
			out += "/" + p
		}
	}
	return out
}

// smallInt is ParseInt's fast path: up to 18 ASCII digits of base 8 or 10
// (every config value in practice), which cannot overflow an int64.
func smallInt(t string, base int) (int64, bool) {
	if len(t) > 18 || (base != 8 && base != 10) {
		return 0, false
	}
	var v int64
	for i := 0; i < len(t); i++ {
		d := int(t[i]) - '0'
		if d < 0 || d >= base {
			return 0, false
		}
		v = v*int64(base) + int64(d)
	}
	return v, true
}
