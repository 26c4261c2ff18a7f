package config

// Python's "%(name)s" formatting with a mapping, which supervisor applies to
// every config value. Values are strings, except process_num and numprocs.

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// expansions maps names usable as %(name)s to string or int values.
type expansions map[string]any

func (e expansions) clone() expansions {
	c := make(expansions, len(e)+4)
	for k, v := range e {
		c[k] = v
	}
	return c
}

// with returns a copy of e with the entries of o added (o wins).
func (e expansions) with(o expansions) expansions {
	c := e.clone()
	for k, v := range o {
		c[k] = v
	}
	return c
}

// over returns e seen through o: a name of o hides the same name of e.
// Unlike with it copies nothing, which matters when every option of a
// thousand programs is expanded over the whole environment.
func (e expansions) over(o expansions) scope { return scope{top: o, base: e} }

func (e expansions) lookup(name string) (any, bool) {
	v, ok := e[name]
	return v, ok
}

// names returns the names that are not environment variables, sorted, for
// error messages (Python lists every ENV_ name too, which is unreadable).
func (e expansions) names() string { return listNames(e, nil) }

// namespace is what %(name)s reads: a mapping, or a scope of two.
type namespace interface {
	lookup(name string) (any, bool)
	names() string
}

// scope is a namespace of two layers: top's names hide base's.
type scope struct{ top, base expansions }

func (s scope) lookup(name string) (any, bool) {
	if v, ok := s.top[name]; ok {
		return v, true
	}
	v, ok := s.base[name]
	return v, ok
}

func (s scope) names() string { return listNames(s.top, s.base) }

// listNames lists the names of a and b for names().
func listNames(a, b expansions) string {
	var ns []string
	env := false
	for _, e := range []expansions{a, b} {
		for k := range e {
			if strings.HasPrefix(k, "ENV_") {
				env = true
				continue
			}
			ns = append(ns, k)
		}
	}
	sort.Strings(ns)
	ns = slices.Compact(ns)
	if env {
		ns = append(ns, "ENV_<name> for each environment variable")
	}
	return strings.Join(ns, ", ")
}

// expandError is a failed expansion; Msg is Python's wording.
type expandError struct {
	Msg     string
	Missing string // the unknown name, when that is the cause
}

// missingKey is a %(name)s whose name is not defined.
type missingKey string

func (k missingKey) Error() string { return "no name " + pyRepr(string(k)) }

func (e *expandError) Error() string { return e.Msg }

// expand formats s with e as Python's `s % e` does. what names the option
// for the message ("program:x.command").
func expand(s string, e namespace, what string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	out, err := pyFormat(s, e)
	var mk missingKey
	if errors.As(err, &mk) {
		return "", &expandError{
			Msg: fmt.Sprintf("Format string %s for %s contains names (%s) which cannot be expanded. Available names: %s",
				pyRepr(s), pyRepr(what), pyRepr(string(mk)), e.names()),
			Missing: string(mk),
		}
	}
	if err != nil {
		return "", &expandError{Msg: fmt.Sprintf("Format string %s for %s is badly formatted: %s", pyRepr(s), pyRepr(what), err)}
	}
	return out, nil
}

// pyFormat implements str % mapping, following CPython's order of checks
// so that the error for a bad format is the one Python gives. It returns the
// a missingKey error, or an error worded as Python's.
func pyFormat(s string, m namespace) (string, error) {
	var b strings.Builder
	// consumed follows CPython's argument index: the mapping itself is the
	// argument of the first conversion; any later unnamed conversion has
	// none left.
	consumed := false
	nextArg := func() error {
		if consumed {
			return fmt.Errorf("not enough arguments for format string")
		}
		consumed = true
		return nil
	}
	i := 0
	for i < len(s) {
		j := strings.IndexByte(s[i:], '%')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j + 1 // past '%'
		start := i - 1
		if i < len(s) && s[i] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		var (
			key     string
			haveKey bool
			val     any
		)
		if i < len(s) && s[i] == '(' {
			depth := 1
			k := i + 1
			for k < len(s) && depth > 0 {
				switch s[k] {
				case '(':
					depth++
				case ')':
					depth--
				}
				k++
			}
			if depth > 0 {
				return "", fmt.Errorf("incomplete format key")
			}
			key, haveKey = s[i+1:k-1], true
			i = k
			v, ok := m.lookup(key)
			if !ok {
				return "", missingKey(key)
			}
			val = v
			consumed = false
		}
		var spec fmtSpec
	flags:
		for i < len(s) {
			switch s[i] {
			case '-':
				spec.minus = true
			case '+':
				spec.plus = true
			case ' ':
				spec.space = true
			case '#':
				spec.alt = true
			case '0':
				spec.zero = true
			default:
				break flags
			}
			i++
		}
		if i < len(s) && s[i] == '*' {
			if err := nextArg(); err != nil {
				return "", err
			}
			return "", fmt.Errorf("* wants int")
		}
		spec.width, i = readDigits(s, i)
		spec.prec = -1
		if i < len(s) && s[i] == '.' {
			i++
			if i < len(s) && s[i] == '*' {
				if err := nextArg(); err != nil {
					return "", err
				}
				return "", fmt.Errorf("* wants int")
			}
			spec.prec, i = readDigits(s, i)
		}
		for i < len(s) && (s[i] == 'h' || s[i] == 'l' || s[i] == 'L') {
			i++
		}
		if i >= len(s) {
			return "", fmt.Errorf("incomplete format")
		}
		conv, w := utf8.DecodeRuneInString(s[i:])
		i += w
		if err := nextArg(); err != nil {
			return "", err
		}
		if !strings.ContainsRune("diouxXeEfFgGcrsa", conv) {
			return "", fmt.Errorf("unsupported format character %s (0x%x) at index %d",
				pyRepr(string(conv)), conv, utf8.RuneCountInString(s[:i])-1)
		}
		if !haveKey {
			// Python formats the whole mapping here (for s, r, a) or fails
			// on its type; neither is useful, so a bare conversion is an
			// error (for s, r and a, a deliberate difference).
			switch conv {
			case 's', 'r', 'a':
				return "", fmt.Errorf("format %s needs a name, as in %%(name)%c; write %%%% for a literal %%", pyRepr(s[start:i]), conv)
			case 'c':
				return "", fmt.Errorf("%%c requires int or char")
			case 'd', 'i', 'u':
				return "", fmt.Errorf("%%%c format: a real number is required, not dict", conv)
			case 'o', 'x', 'X':
				return "", fmt.Errorf("%%%c format: an integer is required, not dict", conv)
			default:
				return "", fmt.Errorf("must be real number, not dict")
			}
		}
		txt, err := spec.format(conv, val)
		if err != nil {
			return "", err
		}
		if b.Len()+len(txt) > maxExpansion {
			return "", fmt.Errorf("the result is longer than %d bytes", maxExpansion)
		}
		b.WriteString(txt)
	}
	return b.String(), nil
}

func readDigits(s string, i int) (int, int) {
	n := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		if n > 1<<20 {
			n = 1 << 20 // a silly width; keep memory bounded
		}
		i++
	}
	return n, i
}

// maxExpansion bounds an expanded value, so a hostile width (%(x)999999s
// repeated) cannot exhaust memory.
const maxExpansion = 4 << 20

type fmtSpec struct {
	minus, plus, space, alt, zero bool
	width, prec                   int
}

// pad pads txt to the width; numeric allows zero padding after the sign.
func (f fmtSpec) pad(txt string, numeric bool) string {
	n := utf8.RuneCountInString(txt)
	if n >= f.width {
		return txt
	}
	fill := f.width - n
	switch {
	case f.minus:
		return txt + strings.Repeat(" ", fill)
	case f.zero && numeric:
		sign := ""
		if txt != "" && (txt[0] == '-' || txt[0] == '+' || txt[0] == ' ') {
			sign, txt = txt[:1], txt[1:]
		}
		prefix := ""
		if len(txt) >= 2 && txt[0] == '0' && strings.ContainsRune("oxX", rune(txt[1])) {
			prefix, txt = txt[:2], txt[2:]
		}
		return sign + prefix + strings.Repeat("0", fill) + txt
	default:
		return strings.Repeat(" ", fill) + txt
	}
}

func (f fmtSpec) sign(neg bool) string {
	switch {
	case neg:
		return "-"
	case f.plus:
		return "+"
	case f.space:
		return " "
	}
	return ""
}

func (f fmtSpec) format(conv rune, v any) (string, error) {
	switch conv {
	case 's', 'r', 'a':
		var txt string
		switch x := v.(type) {
		case string:
			txt = x
			if conv != 's' {
				txt = pyRepr(x)
				if conv == 'a' {
					txt = asciiEscape(txt)
				}
			}
		case int64:
			txt = strconv.FormatInt(x, 10)
		}
		if f.prec >= 0 && utf8.RuneCountInString(txt) > f.prec {
			txt = string([]rune(txt)[:f.prec])
		}
		return f.pad(txt, false), nil
	case 'c':
		switch x := v.(type) {
		case string:
			if utf8.RuneCountInString(x) != 1 {
				return "", fmt.Errorf("%%c requires int or char")
			}
			return f.pad(x, false), nil
		case int64:
			if x < 0 || x > 0x10ffff {
				return "", fmt.Errorf("%%c arg not in range(0x110000)")
			}
			return f.pad(string(rune(x)), false), nil
		}
	}
	n, isInt := v.(int64)
	if !isInt {
		switch conv {
		case 'd', 'i', 'u':
			return "", fmt.Errorf("%%%c format: a real number is required, not str", conv)
		case 'o', 'x', 'X':
			return "", fmt.Errorf("%%%c format: an integer is required, not str", conv)
		default:
			return "", fmt.Errorf("must be real number, not str")
		}
	}
	neg := n < 0
	abs := uint64(n)
	if neg {
		abs = uint64(-n)
	}
	var digits, prefix string
	switch conv {
	case 'd', 'i', 'u':
		digits = strconv.FormatUint(abs, 10)
	case 'o':
		digits = strconv.FormatUint(abs, 8)
		if f.alt {
			prefix = "0o"
		}
	case 'x':
		digits = strconv.FormatUint(abs, 16)
		if f.alt {
			prefix = "0x"
		}
	case 'X':
		digits = strings.ToUpper(strconv.FormatUint(abs, 16))
		if f.alt {
			prefix = "0X"
		}
	default: // e E f F g G
		prec := f.prec
		if prec < 0 {
			prec = 6
		}
		fc := byte(conv)
		if fc == 'F' {
			fc = 'f'
		}
		if (fc == 'g' || fc == 'G') && prec == 0 {
			prec = 1
		}
		digits = strconv.FormatFloat(float64(abs), fc, prec, 64)
		if (fc == 'g' || fc == 'G') && f.alt && !strings.ContainsAny(digits, ".eE") {
			digits += "."
		}
		return f.pad(f.sign(neg)+digits, true), nil
	}
	if f.prec > len(digits) {
		digits = strings.Repeat("0", f.prec-len(digits)) + digits
	}
	return f.pad(f.sign(neg)+prefix+digits, true), nil
}

// asciiEscape turns the non-ASCII runes of a repr into escapes, as ascii().
func asciiEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r < 0x10000:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	return b.String()
}
