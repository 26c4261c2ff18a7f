package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoad_shutdownBudget(t *testing.T) {
	tests := []struct {
		name     string
		option   string // the [supervisord] line, or ""
		env      string // SUPERVISOR_SHUTDOWN_BUDGET's value, or "" for unset
		want     time.Duration
		wantFrom string
		wantErr  string
	}{
		{name: "unset: Python's stop", want: 0},
		{name: "from the file", option: "shutdown_budget = 25", want: 25 * time.Second, wantFrom: "shutdown_budget"},
		{name: "expanded from the environment", option: "shutdown_budget = %(ENV_GRACE)s", want: 40 * time.Second, wantFrom: "shutdown_budget"},
		{name: "the environment wins", option: "shutdown_budget = 25", env: "7", want: 7 * time.Second, wantFrom: ShutdownBudgetEnv},
		{name: "0 in the environment switches it off", option: "shutdown_budget = 25", env: "0", want: 0},
		{name: "0 in the file is no budget", option: "shutdown_budget = 0", want: 0},
		{name: "not a number", option: "shutdown_budget = soon",
			wantErr: "supervisord.conf:2: [supervisord] shutdown_budget = 'soon': invalid literal for int() with base 10: 'soon' (use a whole number of seconds from 0 (no budget) to 86400)"},
		{name: "negative", option: "shutdown_budget = -3",
			wantErr: "[supervisord] shutdown_budget = '-3': -3 is out of range (use a whole number of seconds"},
		{name: "a bad environment value names the variable", env: "5s",
			wantErr: "[supervisord] shutdown_budget: environment SUPERVISOR_SHUTDOWN_BUDGET='5s': invalid literal for int() with base 10: '5s'"},
		{name: "too large", env: "86401", wantErr: "86401 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{
				"supervisord.conf": "[supervisord]\n" + tt.option + "\n[program:a]\ncommand=/bin/true\n",
			})
			env := []string{"HOME=/root", "GRACE=40"}
			if tt.env != "" {
				env = append(env, ShutdownBudgetEnv+"="+tt.env)
			}
			cfg, err := LoadWith(filepath.Join(dir, "supervisord.conf"), Options{Environ: env, Hostname: "box"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := cfg.Supervisord
			if s.ShutdownBudget != tt.want || s.ShutdownBudgetFrom != tt.wantFrom {
				t.Errorf("budget %v from %q, want %v from %q", s.ShutdownBudget, s.ShutdownBudgetFrom, tt.want, tt.wantFrom)
			}
			if got := cfg.Effective()["supervisord"].(map[string]any)["shutdown_budget"]; got != tt.want.Seconds() {
				t.Errorf("--print-config shutdown_budget = %v, want %v", got, tt.want.Seconds())
			}
		})
	}
}
