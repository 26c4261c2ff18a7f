package config

// An INI reader that reads exactly what Python's RawConfigParser reads in the
// mode supervisor uses (non-strict, ';' and '#' comments, inline comments
// after whitespace, '=' and ':' delimiters, indented continuation lines,
// a [DEFAULT] section inherited by every section), and remembers the file
// and line of every value so errors can point at them.

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

const defaultSection = "DEFAULT"

// origin is where a value was written.
type origin struct {
	File string
	Line int
}

type iniValue struct {
	text  string
	lines []string // while reading: the value's lines, joined at end of file
	at    origin
}

type iniSection struct {
	name string
	at   origin // the first header line for this section
	keys []string
	vals map[string]*iniValue
}

func newSection(name string, at origin) *iniSection {
	return &iniSection{name: name, at: at, vals: map[string]*iniValue{}}
}

func (s *iniSection) set(key string, v *iniValue) {
	if _, ok := s.vals[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.vals[key] = v
}

// iniDoc is the merged content of every file read so far.
type iniDoc struct {
	sections []*iniSection
	byName   map[string]*iniSection
	defaults *iniSection
	// sectionFile maps sections first seen in an included file to that file.
	sectionFile map[string]string
}

func newIniDoc() *iniDoc {
	return &iniDoc{
		byName:      map[string]*iniSection{},
		defaults:    newSection(defaultSection, origin{}),
		sectionFile: map[string]string{},
	}
}

// syntaxError lists the lines of one file that could not be read.
type syntaxError struct {
	File   string
	Lines  []syntaxLine
	Header bool // no section header before the first option (fatal at once)
}

type syntaxLine struct {
	Line int
	Text string // the raw line, including its newline as Python shows it
}

func (e *syntaxError) Error() string {
	if e.Header {
		l := e.Lines[0]
		return fmt.Sprintf("File contains no section headers.\nfile: %s, line: %d\n%s", pyRepr(e.File), l.Line, pyRepr(l.Text))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Source contains parsing errors: %s", pyRepr(e.File))
	for _, l := range e.Lines {
		fmt.Fprintf(&b, "\n\t[line %2d]: %s", l.Line, pyRepr(l.Text))
	}
	return b.String()
}

// splitLines splits data as Python's text mode reads it: "\r\n" and "\r"
// become "\n", and each line keeps its newline.
func splitLines(data string) []string {
	if strings.Contains(data, "\r") {
		data = strings.ReplaceAll(data, "\r\n", "\n")
		data = strings.ReplaceAll(data, "\r", "\n")
	}
	var lines []string
	for data != "" {
		i := strings.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	return lines
}

// commentStart finds where an inline or full-line comment starts, using the
// same search as Python's configparser (which looks at the k-th occurrence
// of each prefix in turn, so it does not always find the first comment).
func commentStart(line string) int {
	const none = -1
	start := none
	// Python advances every prefix to its next occurrence in rounds and
	// stops after the first round in which one qualifies, so a later
	// qualifying '#' can lose to an earlier-round ';' (and the reverse).
	prefixes := [2]byte{';', '#'}
	from := [2]int{-1, -1}
	live := [2]bool{true, true}
	for start == none && (live[0] || live[1]) {
		for k, p := range prefixes {
			if !live[k] {
				continue
			}
			i := strings.IndexByte(line[from[k]+1:], p)
			if i < 0 {
				live[k] = false
				continue
			}
			i += from[k] + 1
			from[k] = i
			if i == 0 || pyIsSpace(lastRune(line[:i])) {
				if start == none || i < start {
					start = i
				}
			}
		}
	}
	trimmed := pyStrip(line)
	if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
		start = 0
	}
	return start
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// indentOf returns the index of the first non-whitespace rune of line, or 0.
func indentOf(line string) int {
	for i, r := range line {
		if !pyIsSpace(r) {
			return i
		}
	}
	return 0
}

// read parses one file's text into the document. It returns a *syntaxError
// for unreadable lines; the lines that could be read are kept, as Python does.
func (d *iniDoc) read(name string, data []byte) error {
	text := string(data)
	if !utf8.Valid(data) {
		return decodeError(name, data)
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		// Python reads the BOM as a character, so the first header is not a
		// header. Say why, rather than only that the header is missing.
		return &syntaxError{File: name, Header: true, Lines: []syntaxLine{{1, splitLines(text)[0]}}}
	}
	var (
		cur     *iniSection
		curVal  *iniValue
		indent  int
		synErr  *syntaxError
		touched []*iniValue
	)
	addErr := func(n int, line string) {
		if synErr == nil {
			synErr = &syntaxError{File: name}
		}
		synErr.Lines = append(synErr.Lines, syntaxLine{n, line})
	}
	for i, line := range splitLines(text) {
		n := i + 1
		cs := commentStart(line)
		var value string
		if cs >= 0 {
			value = pyStrip(line[:cs])
		} else {
			value = pyStrip(line)
		}
		if value == "" {
			// Python keeps blank lines inside values (joined later with
			// "\n" and right-stripped), unless the line held a comment.
			if cs < 0 && cur != nil && curVal != nil {
				curVal.lines = append(curVal.lines, "")
			}
			continue
		}
		lineIndent := indentOf(line)
		if cur != nil && curVal != nil && lineIndent > indent {
			curVal.lines = append(curVal.lines, value)
			continue
		}
		indent = lineIndent
		if header, ok := sectionHeader(value); ok {
			at := origin{name, n}
			switch s, exists := d.byName[header]; {
			case exists:
				cur = s
			case header == defaultSection:
				cur = d.defaults
			default:
				cur = newSection(header, at)
				d.sections = append(d.sections, cur)
				d.byName[header] = cur
			}
			curVal = nil
			continue
		}
		if cur == nil {
			return &syntaxError{File: name, Header: true, Lines: []syntaxLine{{n, line}}}
		}
		p := strings.IndexAny(value, "=:")
		if p < 0 {
			addErr(n, line)
			curVal = nil // Python keeps the previous option; its continuation lines are rare enough
			continue
		}
		key := pyRStrip(value[:p])
		if key == "" {
			addErr(n, line)
		}
		key = strings.ToLower(key)
		curVal = &iniValue{lines: []string{pyStrip(value[p+1:])}, at: origin{name, n}}
		cur.set(key, curVal)
		touched = append(touched, curVal)
	}
	for _, v := range touched {
		if v.lines != nil {
			v.text = pyRStrip(strings.Join(v.lines, "\n"))
			v.lines = nil
		}
	}
	if synErr != nil {
		return synErr
	}
	return nil
}

// sectionHeader matches Python's `\[(?P<header>.+)\]` at the start of the
// stripped line: the header runs to the last ']' and text after it is
// ignored.
func sectionHeader(value string) (string, bool) {
	if !strings.HasPrefix(value, "[") {
		return "", false
	}
	end := strings.LastIndexByte(value, ']')
	if end < 2 {
		return "", false
	}
	return value[1:end], true
}

func (d *iniDoc) has(section string) bool {
	_, ok := d.byName[section]
	return ok
}

// get returns the value of key in section, falling back to [DEFAULT].
func (d *iniDoc) get(section, key string) (*iniValue, bool) {
	if s, ok := d.byName[section]; ok {
		if v, ok := s.vals[key]; ok {
			return v, true
		}
	}
	v, ok := d.defaults.vals[key]
	return v, ok
}

// options returns the keys of section then those of [DEFAULT] it lacks.
func (d *iniDoc) options(section string) []string {
	s := d.byName[section]
	keys := append([]string(nil), s.keys...)
	for _, k := range d.defaults.keys {
		if _, ok := s.vals[k]; !ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// expandHere replaces "%(here)s" textually in every value of every section
// (including inherited defaults), as supervisor does after reading each file
// of an [include].
func (d *iniDoc) expandHere(here string) {
	const token = "%(here)s"
	for _, s := range d.sections {
		for _, k := range d.defaults.keys {
			if _, own := s.vals[k]; own {
				continue
			}
			v := d.defaults.vals[k]
			if strings.Contains(v.text, token) {
				s.set(k, &iniValue{text: strings.ReplaceAll(v.text, token, here), at: v.at})
			}
		}
		for _, k := range s.keys {
			v := s.vals[k]
			if strings.Contains(v.text, token) {
				v.text = strings.ReplaceAll(v.text, token, here)
			}
		}
	}
}

// decodeError describes the first invalid UTF-8 sequence in the words of
// Python's codec, which is what supervisor reports, plus the line.
func decodeError(name string, data []byte) error {
	i := 0
	for i < len(data) {
		r, w := utf8.DecodeRune(data[i:])
		if r != utf8.RuneError || w != 1 {
			i += w
			continue
		}
		b := data[i]
		reason := "invalid start byte"
		if need := utf8SeqLen(b); need > 1 {
			if i+need > len(data) && allContinuation(data[i+1:]) {
				reason = "unexpected end of data"
			} else {
				reason = "invalid continuation byte"
			}
		}
		line := bytes.Count(data[:i], []byte("\n")) + 1
		return fmt.Errorf("%s line %d: 'utf-8' codec can't decode byte 0x%02x in position %d: %s", pyRepr(name), line, b, i, reason)
	}
	return nil
}

func utf8SeqLen(b byte) int {
	switch {
	case b >= 0xc2 && b <= 0xdf:
		return 2
	case b >= 0xe0 && b <= 0xef:
		return 3
	case b >= 0xf0 && b <= 0xf4:
		return 4
	}
	return 1
}

func allContinuation(b []byte) bool {
	for _, c := range b {
		if c&0xc0 != 0x80 {
			return false
		}
	}
	return true
}
