package config

import (
	"fmt"
	"strings"
)

// Error is one problem in a configuration: where it is, what was written,
// what is wrong (in supervisor's own words where it has them) and what
// would be accepted.
type Error struct {
	File    string
	Line    int // 0 when the problem has no single line
	Section string
	Option  string
	Value   string // the value as written, before expansion
	Msg     string
	Hint    string
	// NoValue is set when the option is not written at all (a missing
	// required option), so there is no value to show.
	NoValue bool
	// inProcess marks errors Python raises while expanding a program's
	// processes, which it suffixes with the section and file.
	inProcess bool
	// python is Python's whole message when it differs in shape from
	// ours (an INI syntax error: Python lists every bad line of the file,
	// with its path and line numbers, in one message).
	python string
}

// PythonMessage is the problem worded exactly as Python supervisor words
// it (what supervisorctl shows after CANT_REREAD).
func (e *Error) PythonMessage() string {
	if e.python != "" {
		return e.python
	}
	if e.inProcess {
		return fmt.Sprintf("%s in section %s (file: %s)", e.Msg, pyRepr(e.Section), pyRepr(e.File))
	}
	return e.Msg
}

func (e *Error) Error() string {
	var b strings.Builder
	// A problem with the whole file whose message names it already
	// ("could not find config file X") is printed as supervisor prints it.
	if e.Line > 0 || e.Section != "" || !strings.Contains(e.Msg, e.File) {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Section != "" {
		fmt.Fprintf(&b, "[%s] ", e.Section)
	}
	switch {
	case e.Option != "" && e.NoValue:
		fmt.Fprintf(&b, "%s: ", e.Option)
	case e.Option != "":
		fmt.Fprintf(&b, "%s = %s: ", e.Option, pyRepr(e.Value))
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	return b.String()
}

// Errors is every problem found in a configuration, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
