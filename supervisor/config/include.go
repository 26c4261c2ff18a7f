package config

import (
	"os"
	"path/filepath"
	"strings"
)

func (l *loader) includes(here string) {
	const sec = "include"
	l.doc.expandHere(here)
	v, ok := l.doc.get(sec, "files")
	if !ok {
		l.errs = append(l.errs, &Error{File: l.file, Line: l.doc.byName[sec].at.Line, Section: sec, Option: "files", NoValue: true,
			Msg: ".ini file has [include] section, but no files setting", Hint: "add files = conf.d/*.conf"})
		return
	}
	base := expansions{"here": here, "host_node_name": l.opts.Hostname}
	files, err := expand(v.text, l.env.over(base), "include.files")
	if err != nil {
		l.fail(sec, "files", v, err)
		return
	}
	includeFrom := v.at.File
	firstFile := map[string]string{}
	for _, s := range l.doc.sections {
		firstFile[s.name] = l.file
	}
	for _, pat := range strings.FieldsFunc(files, pyIsSpace) {
		pattern := pyJoin(here, pat)
		l.cfg.IncludePatterns = append(l.cfg.IncludePatterns, pattern)
		matches := pyGlob(pattern)
		if len(matches) == 0 {
			l.warn(sec, "files", v, "No file matches via include \"%s\"", pattern)
			continue
		}
		for _, name := range matches {
			data, err := os.ReadFile(name)
			if err != nil {
				l.warn(sec, "files", v, "could not read included file %s, skipped as supervisor does: %v", name, err)
				continue
			}
			l.order = append(l.order, name)
			before := len(l.doc.sections)
			seen := map[string]bool{}
			for _, s := range l.doc.sections {
				seen[s.name] = true
			}
			if err := l.doc.read(name, data); err != nil {
				l.syntaxFail(err)
				continue
			}
			l.cfg.Included = append(l.cfg.Included, name)
			for _, s := range l.doc.sections[before:] {
				l.doc.sectionFile[s.name] = name
				firstFile[s.name] = name
			}
			for _, line := range sectionHeadersIn(data) {
				if seen[line] && line != sec && firstFile[line] != name {
					l.warn(line, "", nil, "section [%s] in %s was already defined in %s; its options are merged, later ones win (as supervisor does)", line, name, firstFile[line])
				}
			}
			if fv, ok := l.doc.get(sec, "files"); ok && fv.at.File != includeFrom {
				includeFrom = fv.at.File
				l.warn(sec, "files", fv, "[include] in an included file is ignored: includes do not nest")
			}
			l.doc.expandHere(filepath.Dir(absPath(name)))
		}
	}
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// sectionHeadersIn lists the section names a file's text declares.
func sectionHeadersIn(data []byte) []string {
	var out []string
	for _, line := range splitLines(string(data)) {
		cs := commentStart(line)
		v := line
		if cs >= 0 {
			v = line[:cs]
		}
		if indentOf(line) == 0 {
			if h, ok := sectionHeader(pyStrip(v)); ok && h != defaultSection {
				out = append(out, h)
			}
		}
	}
	return out
}
