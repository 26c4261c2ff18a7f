package logtail

import (
	"bytes"
	"strings"
	"testing"
)

func TestRedactor_Append(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		line    string
		want    string
	}{
		{"none", nil, "password hunter22", "password hunter22"},
		{"one", []string{"hunter22"}, "password hunter22 ok", "password *** ok"},
		{"twice", []string{"hunter22"}, "hunter22hunter22 hunter22", "****** ***"},
		{"whole line", []string{"hunter22"}, "hunter22", "***"},
		{"several", []string{"hunter22", "tok-abcdef"}, "u=hunter22 t=tok-abcdef", "u=*** t=***"},
		{"longest at the same place", []string{"abcd", "abcdefgh"}, "x abcdefgh y abcd", "x *** y ***"},
		{"leftmost first", []string{"bcdefg", "abcd"}, "abcdefg", "***efg"},
		{"too short to redact", []string{"abc", "1"}, "abc 1 abc", "abc 1 abc"},
		{"multi-line value, line by line", []string{"-----BEGIN KEY-----\nAAAABBBBCCCC\r\nxy\n"}, "AAAABBBBCCCC and -----BEGIN KEY----- but xy", "*** and *** but xy"},
		{"duplicates", []string{"hunter22", "hunter22"}, "hunter22", "***"},
		{"bytes, not runes", []string{"pässwörd"}, "é pässwörd é", "é *** é"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRedactor(tt.secrets)
			got := string(r.Append([]byte("> "), []byte(tt.line)))
			if got != "> "+tt.want {
				t.Errorf("Append(%q) = %q, want %q", tt.line, got, "> "+tt.want)
			}
		})
	}
	var nilRedactor *Redactor
	if got := string(nilRedactor.Append(nil, []byte("x"))); got != "x" {
		t.Errorf("nil Redactor: %q", got)
	}
}

func TestRedactor_Hold(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		partial string
		want    int // bytes held
	}{
		{"no secrets", nil, "abc", 0},
		{"no prefix at the end", []string{"hunter22"}, "hello world", 0},
		{"prefix at the end", []string{"hunter22"}, "user hun", 3},
		{"one byte", []string{"hunter22"}, "user h", 1},
		{"whole secret at the end is not held", []string{"hunter22"}, "pw hunter22", 0},
		{"earliest prefix wins", []string{"aaaaab"}, "x aaaa", 4},
		{"whole secret across the cut is held with it", []string{"wxyz12", "z12ab"}, "..wxyz12a", 7},
		{"longer than any secret", []string{"abcd"}, "abcdabc", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRedactor(tt.secrets)
			if got := r.Hold([]byte(tt.partial)); got != tt.want {
				t.Errorf("Hold(%q) = %d, want %d", tt.partial, got, tt.want)
			}
		})
	}
}

func TestRedactor_AppendCut(t *testing.T) {
	r := NewRedactor([]string{"hunter22"})
	for _, tt := range []struct{ text, want string }{
		{"progress 50%", "progress 50%"},
		{"password: hunt", "password: ***"},
		{"password: hunter22", "password: ***"},
		{"password: hunter22 hu", "password: *** ***"},
	} {
		if got := string(r.AppendCut(nil, []byte(tt.text))); got != tt.want {
			t.Errorf("AppendCut(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// FuzzRedactor_Pieces delivers a line in pieces as the follower does when
// partial lines are flushed (Hold keeps back a possible secret), and
// checks that no secret shows in the stream, whole or split across
// pieces.
func FuzzRedactor_Pieces(f *testing.F) {
	f.Add("hunter22", "tok3n-xyz", "my password is hunter22 and tok3n-xyz", uint64(0x1234567))
	f.Add("abcd", "bcde", "abcdeabcde", uint64(7))
	f.Add("aaaa", "aaab", "aaaaaaabaaa", uint64(99))
	f.Fuzz(func(t *testing.T, s1, s2, line string, cuts uint64) {
		r := NewRedactor([]string{s1, s2})
		if r.Len() == 0 || strings.ContainsAny(s1+s2, "\n*|") || strings.ContainsAny(line, "\n|") {
			return
		}
		// Feed line in chunks; after each chunk, flush what Hold allows.
		var out []byte
		var pend []byte
		rest := []byte(line)
		for len(rest) > 0 {
			n := int(cuts%7) + 1
			cuts /= 7
			if cuts == 0 {
				n = len(rest)
			}
			n = min(n, len(rest))
			pend = append(pend, rest[:n]...)
			rest = rest[n:]
			if len(rest) > 0 {
				k := len(pend) - r.Hold(pend)
				out = r.Append(out, pend[:k])
				out = append(out, '|') // a piece boundary
				pend = append([]byte(nil), pend[k:]...)
			}
		}
		out = r.Append(out, pend)
		joined := bytes.ReplaceAll(out, []byte("|"), nil)
		for _, s := range r.secrets {
			if bytes.Contains(joined, s) {
				// A secret shows, or two pieces put together show one.
				t.Fatalf("secret %q shows in %q (line %q)", s, out, line)
			}
		}
	})
}
