// Package logview turns log lines into what the portal shows: secrets
// redacted (logtail's Redactor), ANSI colours turned into classed
// segments of plain text, and a line rewritten by carriage returns (a
// progress bar) reduced to what a terminal would show last. Segments are
// text, never HTML: the page puts them into the DOM with textContent.
package logview

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Segment is a run of text with one style, e.g. {"ok", "b fg2"}.
type Segment [2]string

// style is the SGR state.
type style struct {
	bold, dim, italic, under bool
	fg, bg                   int // -1 default, 0-15
}

func (s style) class() string {
	var parts []string
	if s.bold {
		parts = append(parts, "b")
	}
	if s.dim {
		parts = append(parts, "d")
	}
	if s.italic {
		parts = append(parts, "i")
	}
	if s.under {
		parts = append(parts, "u")
	}
	if s.fg >= 0 {
		parts = append(parts, "fg"+strconv.Itoa(s.fg))
	}
	if s.bg >= 0 {
		parts = append(parts, "bg"+strconv.Itoa(s.bg))
	}
	return strings.Join(parts, " ")
}

// LastRewrite returns what a terminal shows of a line that carriage
// returns rewrote: the text after the last \r that has text after it.
func LastRewrite(line string) string {
	line = strings.TrimRight(line, "\r")
	if i := strings.LastIndexByte(line, '\r'); i >= 0 {
		return line[i+1:]
	}
	return line
}

// Render splits a line into styled segments, dropping escape sequences
// other than colours (cursor movement, erase) and control characters
// other than tab. Invalid UTF-8 becomes U+FFFD.
func Render(line string) []Segment {
	line = LastRewrite(line)
	var out []Segment
	st := style{fg: -1, bg: -1}
	var b strings.Builder
	flush := func() {
		if b.Len() == 0 {
			return
		}
		c := st.class()
		if n := len(out); n > 0 && out[n-1][1] == c {
			out[n-1][0] += b.String()
		} else {
			out = append(out, Segment{b.String(), c})
		}
		b.Reset()
	}
	for i := 0; i < len(line); {
		c := line[i]
		if c == 0x1b {
			n, params, final := csi(line[i:])
			if final == 'm' {
				flush()
				st = sgr(st, params)
			}
			i += n
			continue
		}
		if c < 0x20 && c != '\t' || c == 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(line[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else if r >= 0x80 && r < 0xa0 { // C1 controls
		} else {
			b.WriteString(line[i : i+size])
		}
		i += size
	}
	flush()
	return out
}

// csi reads an escape sequence at the start of s: its length, the
// parameters of a CSI sequence and its final byte (0 for other escapes).
func csi(s string) (n int, params string, final byte) {
	if len(s) < 2 {
		return len(s), "", 0
	}
	switch s[1] {
	case '[':
		for j := 2; j < len(s); j++ {
			if s[j] >= 0x40 && s[j] <= 0x7e {
				return j + 1, s[2:j], s[j]
			}
			if j-2 > 64 { // not a sequence a terminal would wait for
				return j, "", 0
			}
		}
		return len(s), "", 0
	case ']': // OSC: up to BEL or ST
		for j := 2; j < len(s); j++ {
			if s[j] == 0x07 {
				return j + 1, "", 0
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 2, "", 0
			}
		}
		return len(s), "", 0
	}
	return 2, "", 0
}

func sgr(st style, params string) style {
	if params == "" {
		params = "0"
	}
	ps := strings.Split(params, ";")
	for k := 0; k < len(ps); k++ {
		p, err := strconv.Atoi(ps[k])
		if err != nil {
			continue
		}
		switch {
		case p == 0:
			st = style{fg: -1, bg: -1}
		case p == 1:
			st.bold = true
		case p == 2:
			st.dim = true
		case p == 3:
			st.italic = true
		case p == 4:
			st.under = true
		case p == 22:
			st.bold, st.dim = false, false
		case p == 23:
			st.italic = false
		case p == 24:
			st.under = false
		case p >= 30 && p <= 37:
			st.fg = p - 30
		case p == 39:
			st.fg = -1
		case p >= 40 && p <= 47:
			st.bg = p - 40
		case p == 49:
			st.bg = -1
		case p >= 90 && p <= 97:
			st.fg = p - 90 + 8
		case p >= 100 && p <= 107:
			st.bg = p - 100 + 8
		case p == 38 || p == 48: // 256-colour and true colour: skipped
			if k+1 < len(ps) && ps[k+1] == "5" {
				k += 2
			} else if k+1 < len(ps) && ps[k+1] == "2" {
				k += 4
			}
		}
	}
	return st
}
