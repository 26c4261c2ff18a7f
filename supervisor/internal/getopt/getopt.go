// Package getopt parses command lines the way Python's getopt.getopt does,
// which is what supervisord and supervisorctl use: clustered short options,
// long options by unique prefix, "--opt=value" or "--opt value", and
// parsing stops at the first non-option argument or "--".
package getopt

import (
	"fmt"
	"strings"
)

// Option is one parsed option: Name is "-c" or "--configuration".
type Option struct {
	Name  string
	Value string
}

// Parse parses args. short is like "hc:n" (a colon marks an argument);
// long entries end in "=" when they take an argument. Errors carry
// Python's wording.
func Parse(args []string, short string, long []string) ([]Option, []string, error) {
	var opts []Option
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return opts, args[1:], nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return opts, args, nil
		}
		args = args[1:]
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			full, takes, err := matchLong(name, long)
			if err != nil {
				return nil, nil, err
			}
			switch {
			case takes && !hasVal:
				if len(args) == 0 {
					return nil, nil, fmt.Errorf("option --%s requires argument", full)
				}
				val, args = args[0], args[1:]
			case !takes && hasVal:
				return nil, nil, fmt.Errorf("option --%s must not have an argument", full)
			}
			opts = append(opts, Option{"--" + full, val})
			continue
		}
		for i := 1; i < len(a); i++ {
			c := a[i]
			idx := strings.IndexByte(short, c)
			if idx < 0 || c == ':' {
				return nil, nil, fmt.Errorf("option -%c not recognized", c)
			}
			if idx+1 < len(short) && short[idx+1] == ':' {
				val := a[i+1:]
				if val == "" {
					if len(args) == 0 {
						return nil, nil, fmt.Errorf("option -%c requires argument", c)
					}
					val, args = args[0], args[1:]
				}
				opts = append(opts, Option{"-" + string(c), val})
				break
			}
			opts = append(opts, Option{"-" + string(c), ""})
		}
	}
	return opts, nil, nil
}

func matchLong(name string, long []string) (string, bool, error) {
	var matches []string
	for _, l := range long {
		if strings.TrimSuffix(l, "=") == name {
			return name, strings.HasSuffix(l, "="), nil
		}
		if strings.HasPrefix(l, name) {
			matches = append(matches, l)
		}
	}
	switch len(matches) {
	case 0:
		return "", false, fmt.Errorf("option --%s not recognized", name)
	case 1:
		return strings.TrimSuffix(matches[0], "="), strings.HasSuffix(matches[0], "="), nil
	}
	return "", false, fmt.Errorf("option --%s not a unique prefix", name)
}
