package config

// shutdown_budget (an extension; Python 4.2.5 ignores unknown [supervisord]
// keys, so a file that sets it still loads there): the whole stop after
// SIGTERM, SIGINT, SIGQUIT or supervisor.shutdown must fit in this many
// seconds. The platform that sends SIGTERM knows its own deadline better
// than the image's file does, so the environment variable wins over the
// file.

import (
	"fmt"
	"strings"
	"time"
)

// ShutdownBudgetEnv overrides [supervisord] shutdown_budget: a whole number
// of seconds, 0 for no budget (Python's stop), or empty for the file's value.
const ShutdownBudgetEnv = "SUPERVISOR_SHUTDOWN_BUDGET"

// MaxShutdownBudget bounds shutdown_budget (a day): a larger value is a
// typo (milliseconds?) rather than a deadline.
const MaxShutdownBudget = 86400

const hintBudget = "use a whole number of seconds from 0 (no budget) to 86400"

func parseBudget(s string) (time.Duration, error) {
	n, err := parseInt(s)
	if err != nil {
		return 0, badValue(hintBudget, "%v", err)
	}
	if n < 0 || n > MaxShutdownBudget {
		return 0, badValue(hintBudget, "%d is out of range", n)
	}
	return time.Duration(n) * time.Second, nil
}

// shutdownBudget reads the option, then the environment override.
func (l *loader) shutdownBudget(exp expansions) {
	const sec, opt = "supervisord", "shutdown_budget"
	s := &l.cfg.Supervisord
	s.ShutdownBudget, _ = typed(l, sec, opt, "0", exp, parseBudget)
	if _, set := l.doc.get(sec, opt); set {
		s.ShutdownBudgetFrom = opt
	}
	for _, kv := range l.opts.Environ {
		val, ok := strings.CutPrefix(kv, ShutdownBudgetEnv+"=")
		if !ok || strings.TrimSpace(val) == "" {
			continue
		}
		b, err := parseBudget(strings.TrimSpace(val))
		if err != nil {
			e := &Error{File: l.file, Section: sec, Option: opt, NoValue: true,
				Msg: fmt.Sprintf("environment %s=%s: %v", ShutdownBudgetEnv, pyRepr(val), err), Hint: hintBudget}
			l.errs = append(l.errs, e)
			return
		}
		s.ShutdownBudget, s.ShutdownBudgetFrom = b, ShutdownBudgetEnv
	}
	if s.ShutdownBudget == 0 {
		s.ShutdownBudgetFrom = ""
	}
}
