package config

// The environment= syntax: KEY=value pairs split by Python's shlex in its
// non-POSIX mode, with "/.+-():" added to the word characters. The quirks
// of that tokenizer are part of the format (a quoted value keeps its quotes
// until they are stripped from both ends; the separator token between pairs
// is skipped without being checked), so it is reproduced token for token.

import (
	"strings"
)

// EnvVar is one variable of a process environment.
type EnvVar struct {
	Key, Value string
}

// Environment is an ordered set of variables; a later Set of the same key
// replaces the value in place, as a Python dict does.
type Environment []EnvVar

// Set adds or replaces key.
func (e *Environment) Set(key, value string) {
	for i := range *e {
		if (*e)[i].Key == key {
			(*e)[i].Value = value
			return
		}
	}
	*e = append(*e, EnvVar{key, value})
}

// Get returns the value of key.
func (e Environment) Get(key string) (string, bool) {
	for _, v := range e {
		if v.Key == key {
			return v.Value, true
		}
	}
	return "", false
}

// Map returns the variables as a map.
func (e Environment) Map() map[string]string {
	m := make(map[string]string, len(e))
	for _, v := range e {
		m[v.Key] = v.Value
	}
	return m
}

func isShlexWordChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("_/.+-():", r)
}

func isShlexSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }

// shlexTokens splits s as shlex.shlex(s) (posix=False) with the extra word
// characters. The only error it can report is an unclosed quote.
func shlexTokens(s string) ([]string, error) {
	rs := []rune(s)
	var tokens []string
	var pushback []string // characters pushed back as whole tokens
	pos := 0
	readLine := func() {
		for pos < len(rs) {
			pos++
			if rs[pos-1] == '\n' {
				return
			}
		}
	}
	readToken := func() (string, bool, error) {
		state := ' '
		var tok []rune
		for {
			if pos >= len(rs) {
				switch {
				case state == '\'' || state == '"':
					return "", false, badValue(hintEnv, "No closing quotation")
				case len(tok) > 0:
					return string(tok), true, nil
				}
				return "", false, nil
			}
			c := rs[pos]
			pos++
			switch {
			case state == ' ':
				switch {
				case isShlexSpace(c):
					if len(tok) > 0 {
						return string(tok), true, nil
					}
				case c == '#':
					readLine()
				case isShlexWordChar(c):
					tok = []rune{c}
					state = 'a'
				case c == '\'' || c == '"':
					tok = []rune{c}
					state = c
				default:
					return string(c), true, nil
				}
			case state == '\'' || state == '"':
				tok = append(tok, c)
				if c == state {
					return string(tok), true, nil
				}
			default: // in a word
				switch {
				case isShlexSpace(c):
					return string(tok), true, nil
				case c == '#':
					readLine() // non-POSIX: the word goes on after the comment
				case isShlexWordChar(c) || c == '\'' || c == '"':
					tok = append(tok, c)
				default:
					pushback = append(pushback, string(c))
					return string(tok), true, nil
				}
			}
		}
	}
	for {
		if len(pushback) > 0 {
			tokens = append(tokens, pushback[0])
			pushback = pushback[1:]
			continue
		}
		tok, ok, err := readToken()
		if err != nil {
			return nil, err
		}
		if !ok || tok == "" {
			return tokens, nil
		}
		tokens = append(tokens, tok)
	}
}

// parseEnvironment reads KEY=val,KEY2="val 2" as supervisor does.
func parseEnvironment(s string) (Environment, error) {
	tokens, err := shlexTokens(s)
	if err != nil {
		return nil, err
	}
	var env Environment
	for i := 0; i < len(tokens); i += 4 {
		if len(tokens)-i < 3 || tokens[i+1] != "=" {
			return nil, badValue(hintEnv, "Unexpected end of key/value pairs in value '%s'", s)
		}
		env.Set(tokens[i], strings.Trim(tokens[i+2], `'"`))
	}
	return env, nil
}
