package storagemonitor

import (
	"fmt"
	"regexp"
	"strings"
)

// declareLine matches the declaration lines of the ai-dock files
// (`declare -A storage_map`, `typeset -gA storage_map`), and the
// resetting forms `storage_map=()` and `declare -A storage_map=()`.
var declareLine = regexp.MustCompile(`^(?:(?:declare|typeset|local)(?:\s+-[A-Za-z]+)*\s+)?storage_map(\s*=\s*\(\s*\))?\s*(?:;\s*)?(?:#.*)?$`)

// ParseShell reads the bash form of the mappings that the ai-dock images
// use (mappings.sh):
//
//	declare -A storage_map
//	storage_map["stable_diffusion/models/ckpt"]="/opt/ComfyUI/models/checkpoints /opt/other/models"
//
// The file is read, never run. Understood: comments, blank lines, the
// declaration (or a reset, `storage_map=()`), and assignments
// storage_map[KEY]=VALUE where KEY and VALUE are shell words quoted with
// '…' or "…" or not at all; the value is split on blanks into target
// folders, as the images' `read -ra` did. A later assignment to the same
// key replaces the earlier one, as in bash. Lines that do not mention
// storage_map are ignored. A line that mentions storage_map in any other
// form (expansions such as $HOME, +=, compound assignments) is an error
// naming the file and line, and that line is skipped.
func ParseShell(file string, data []byte) ([]Mapping, []error) {
	var out []Mapping
	var errs []error
	index := map[string]int{}
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		entry := fmt.Sprintf("line %d", i+1)
		line = strings.TrimSuffix(line, "\r")
		t := strings.TrimLeft(line, " \t")
		if t == "" || strings.HasPrefix(t, "#") || !strings.Contains(t, "storage_map") {
			continue
		}
		if m := declareLine.FindStringSubmatch(t); m != nil {
			if m[1] != "" { // storage_map=(): empties the map
				out, index = nil, map[string]int{}
			}
			continue
		}
		key, value, err := parseAssignment(t)
		if err != nil {
			errs = append(errs, &MappingError{File: file, Entry: entry, Err: fmt.Errorf("%w: %v (only storage_map[\"folder\"]=\"/target1 /target2\" assignments, comments and `declare -A storage_map` are understood; the file is read, never run)", ErrSyntax, err)})
			continue
		}
		m, err := newMapping(file, entry, key, splitBlanks(value))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if j, ok := index[m.Storage]; ok {
			out[j] = m
			continue
		}
		index[m.Storage] = len(out)
		out = append(out, m)
	}
	return out, errs
}

// parseAssignment reads `storage_map[KEY]=VALUE [# comment]`.
func parseAssignment(s string) (key, value string, err error) {
	rest, ok := strings.CutPrefix(s, "storage_map[")
	if !ok {
		return "", "", fmt.Errorf("not an assignment storage_map[KEY]=VALUE")
	}
	key, n, err := shellWord(rest, "]", true)
	if err != nil {
		return "", "", fmt.Errorf("in the key: %v", err)
	}
	rest = rest[n:]
	if !strings.HasPrefix(rest, "]") {
		return "", "", fmt.Errorf("missing ] after the key")
	}
	rest = rest[1:]
	if strings.HasPrefix(rest, "+=") {
		return "", "", fmt.Errorf("appending with += is not supported; write the whole value")
	}
	if !strings.HasPrefix(rest, "=") {
		return "", "", fmt.Errorf("missing = after storage_map[%s] (no spaces around =)", key)
	}
	rest = rest[1:]
	if strings.HasPrefix(rest, "(") {
		return "", "", fmt.Errorf("the value is an array; give the targets as one string separated by spaces")
	}
	if strings.HasPrefix(rest, "~") {
		return "", "", fmt.Errorf("~ is not expanded; write the absolute folder")
	}
	value, n, err = shellWord(rest, " \t;", false)
	if err != nil {
		return "", "", fmt.Errorf("in the value: %v", err)
	}
	rest = strings.TrimLeft(rest[n:], " \t")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, ";"), " \t")
	if rest != "" && !strings.HasPrefix(rest, "#") {
		return "", "", fmt.Errorf("unexpected text %q after the value", rest)
	}
	return key, value, nil
}

// shellWord reads one shell word from the start of s, up to an unquoted
// character of stop, and returns its value with the quoting removed and
// the number of bytes read. Single quotes are literal; in double quotes a
// backslash escapes $ ` " and \; outside quotes it escapes any character.
// Expansions ($, `) and control operators are errors: nothing is run.
// Unquoted blanks are kept when blanks is set (bash allows them inside
// the brackets of a subscript).
func shellWord(s, stop string, blanks bool) (string, int, error) {
	var b strings.Builder
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case strings.IndexByte(stop, c) >= 0:
			return b.String(), i, nil
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", 0, fmt.Errorf("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 2
		case c == '"':
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '"' {
					closed = true
					i++
					break
				}
				if c == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\", s[i+1]) >= 0 {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if c == '\\' && i+1 == len(s) {
					return "", 0, fmt.Errorf("line continuations (\\ at the end of a line) are not supported")
				}
				if c == '$' || c == '`' {
					return "", 0, fmt.Errorf("expansions (%c) are not supported; write the value literally", c)
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return "", 0, fmt.Errorf("unterminated double quote")
			}
		case c == '\\':
			if i+1 == len(s) {
				return "", 0, fmt.Errorf("line continuations (\\ at the end of a line) are not supported")
			}
			b.WriteByte(s[i+1])
			i += 2
		case c == '$' || c == '`':
			return "", 0, fmt.Errorf("expansions (%c) are not supported; write the value literally", c)
		case strings.IndexByte("|&<>()", c) >= 0:
			return "", 0, fmt.Errorf("unexpected %q", c)
		case (c == ' ' || c == '\t') && !blanks:
			return "", 0, fmt.Errorf("unquoted blank")
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), i, nil
}

// splitBlanks splits a value on spaces, tabs and newlines, as bash's
// `read -ra` does with the default IFS.
func splitBlanks(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
}
