package logtail

import (
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      func(string) (string, bool)
		terminal bool
		check    func(t *testing.T, cfg Config, warnings []string)
		wantErr  string
	}{
		{name: "defaults", check: func(t *testing.T, cfg Config, _ []string) {
			if !slices.Equal(cfg.Paths, DefaultPaths) || cfg.Lines != 512 || cfg.Out != "/var/log/logtail.log" ||
				cfg.OutMaxBytes != 10<<20 || cfg.View || len(cfg.Secrets) != 0 {
				t.Errorf("config %+v", cfg)
			}
		}},
		{name: "flags and paths in any order", args: []string{"/a/*.log", "--lines", "5", "/b.log", "--out=/tmp/o.log", "--out-max-bytes", "1MB", "--", "--odd.log"},
			check: func(t *testing.T, cfg Config, _ []string) {
				if !slices.Equal(cfg.Paths, []string{"/a/*.log", "/b.log", "--odd.log"}) || cfg.Lines != 5 || cfg.Out != "/tmp/o.log" || cfg.OutMaxBytes != 1<<20 {
					t.Errorf("config %+v", cfg)
				}
			}},
		{name: "no out file", args: []string{"--out=", "-n", "0"}, check: func(t *testing.T, cfg Config, _ []string) {
			if cfg.Out != "" || cfg.Lines != 0 {
				t.Errorf("config %+v", cfg)
			}
		}},
		{name: "view", args: []string{"--view"}, check: func(t *testing.T, cfg Config, _ []string) {
			if !cfg.View || len(cfg.Paths) != 0 {
				t.Errorf("config %+v", cfg)
			}
		}},
		{name: "a terminal with no arguments views", terminal: true, check: func(t *testing.T, cfg Config, _ []string) {
			if !cfg.View {
				t.Errorf("config %+v", cfg)
			}
		}},
		{name: "a terminal with arguments follows", args: []string{"-n", "3"}, terminal: true, check: func(t *testing.T, cfg Config, _ []string) {
			if cfg.View {
				t.Errorf("config %+v", cfg)
			}
		}},
		{name: "secrets", env: env("WEB_PASSWORD", "hunter22", "CF_TUNNEL_TOKEN", "eyJhIjoiYiJ9", "USER_PASSWORD", "abc",
			"LOGTAIL_REDACT", "HF_TOKEN, OPENAI_KEY WEB_PASSWORD", "HF_TOKEN", "hf_abcdef", "OPENAI_KEY", ""),
			check: func(t *testing.T, cfg Config, warnings []string) {
				if !slices.Equal(cfg.Secrets, []string{"hunter22", "eyJhIjoiYiJ9", "hf_abcdef"}) {
					t.Errorf("secrets %q", cfg.Secrets)
				}
				if len(warnings) != 1 || warnings[0] != "USER_PASSWORD is shorter than 4 characters and is not redacted" {
					t.Errorf("warnings %q", warnings)
				}
			}},
		{name: "unknown flag", args: []string{"--follow"}, wantErr: "flag provided but not defined: -follow"},
		{name: "negative lines", args: []string{"--lines=-1"}, wantErr: `--lines "-1": must be 0 or more`},
		{name: "bad size", args: []string{"--out-max-bytes", "ten"}, wantErr: `bad size "ten"`},
		{name: "view with paths", args: []string{"--view", "/x.log"}, wantErr: "--view follows --out only"},
		{name: "view without a file", args: []string{"--view", "--out="}, wantErr: "--view needs the file to view"},
		{name: "empty path", args: []string{""}, wantErr: "empty path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := tt.env
			if lookup == nil {
				lookup = env()
			}
			cfg, warnings, err := ParseArgs(tt.args, lookup, tt.terminal)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg, warnings)
		})
	}
	if _, _, err := ParseArgs([]string{"-h"}, env(), false); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1234", 1234, true}, {"10MB", 10 << 20, true}, {"2kb", 2048, true}, {"1GB", 1 << 30, true},
		{"", 0, false}, {"-1", 0, false}, {"1TB", 0, false}, {"MB", 0, false}, {"99999999999GB", 0, false},
	} {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
