package config

// Python's glob.glob, which [include] uses: unlike filepath.Glob, '*' and
// '?' never match a leading dot, backslash is an ordinary character, and an
// unclosed '[' is literal.

import (
	"os"
	"sort"
	"strings"
)

func hasMagic(s string) bool { return strings.ContainsAny(s, "*?[") }

// pySplit is os.path.split.
func pySplit(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/') + 1
	head, tail := p[:i], p[i:]
	if head != "" && strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return head, tail
}

func lexists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// pyGlob returns the matches of pattern in Python's order (unsorted
// directory order is replaced by sorted order, which the caller wants).
func pyGlob(pattern string) []string {
	out := iglob(pattern, false)
	sort.Strings(out)
	return out
}

func iglob(pattern string, dirOnly bool) []string {
	dir, base := pySplit(pattern)
	if !hasMagic(pattern) {
		if base != "" {
			if lexists(pattern) {
				return []string{pattern}
			}
		} else if isDir(dir) {
			return []string{pattern}
		}
		return nil
	}
	if dir == "" {
		return globInDir("", base, dirOnly)
	}
	dirs := []string{dir}
	if dir != pattern && hasMagic(dir) {
		dirs = iglob(dir, true)
	}
	var out []string
	for _, d := range dirs {
		var names []string
		if hasMagic(base) {
			names = globInDir(d, base, dirOnly)
		} else if base == "" {
			if isDir(d) {
				names = []string{base}
			}
		} else if lexists(pyJoin(d, base)) {
			names = []string{base}
		}
		for _, n := range names {
			out = append(out, pyJoin(d, n))
		}
	}
	return out
}

func globInDir(dir, pattern string, dirOnly bool) []string {
	d := dir
	if d == "" {
		d = "."
	}
	entries, err := os.ReadDir(d)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if name[0] == '.' && pattern[0] != '.' {
			continue
		}
		if dirOnly && !isDir(pyJoin(d, name)) {
			continue
		}
		if fnmatch(name, pattern) {
			out = append(out, name)
		}
	}
	return out
}

// fnmatch matches name against a shell pattern as Python's fnmatch does.
func fnmatch(name, pattern string) bool {
	n, p := []rune(name), []rune(pattern)
	// Backtracking over the last '*' is enough for shell patterns.
	ni, pi := 0, 0
	starP, starN := -1, 0
	for ni < len(n) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				starP, starN = pi, ni
				pi++
				continue
			case '?':
				ni++
				pi++
				continue
			case '[':
				if ok, next, valid := matchClass(p, pi, n[ni]); valid {
					if ok {
						ni++
						pi = next
						continue
					}
				} else if n[ni] == '[' {
					ni++
					pi++
					continue
				}
			default:
				if p[pi] == n[ni] {
					ni++
					pi++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starN++
		ni, pi = starN, starP+1
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchClass matches r against the class starting at p[i] == '['. valid is
// false when the class is not closed (the '[' is then a literal).
func matchClass(p []rune, i int, r rune) (ok bool, next int, valid bool) {
	j := i + 1
	if j < len(p) && p[j] == '!' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for j < len(p) && p[j] != ']' {
		j++
	}
	if j >= len(p) {
		return false, 0, false
	}
	body := p[i+1 : j]
	neg := false
	if len(body) > 0 && body[0] == '!' {
		neg, body = true, body[1:]
	}
	match := false
	for k := 0; k < len(body); k++ {
		if k+2 < len(body) && body[k+1] == '-' {
			if body[k] <= r && r <= body[k+2] {
				match = true
			}
			k += 2
			continue
		}
		if body[k] == r {
			match = true
		}
	}
	return match != neg, j + 1, true
}
