package ready

import (
	"errors"
	"strings"
)

// splitArgs splits a command line as POSIX shells split words (single and
// double quotes, backslash escapes), the way command= is split, without
// expanding anything: exec checks run without a shell unless the command
// names one (exec:/bin/sh -c "...").
func splitArgs(s string) ([]string, error) {
	var (
		args   []string
		cur    strings.Builder
		inWord bool
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case ' ', '\t', '\r', '\n':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\\':
			inWord = true
			i++
			if i >= len(rs) {
				return nil, errors.New("no character after the last backslash")
			}
			cur.WriteRune(rs[i])
		case '\'':
			inWord = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j >= len(rs) {
				return nil, errors.New("no closing quotation")
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
		case '"':
			inWord = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && (rs[j+1] == '"' || rs[j+1] == '\\') {
					j++
				}
				cur.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, errors.New("no closing quotation")
			}
			i = j
		default:
			inWord = true
			cur.WriteRune(c)
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
