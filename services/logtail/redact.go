package logtail

import (
	"bytes"
	"slices"
	"strings"
)

// Mask replaces a secret in the stream.
const Mask = "***"

// MinSecretLen is the shortest value that is redacted. Shorter values
// ("1", "abc") would mask ordinary text all over the stream and hide
// little: a secret that short is not a secret.
const MinSecretLen = 4

// Redactor replaces secret values in lines by Mask. A nil or empty
// Redactor copies lines unchanged. It is safe for concurrent use (it is
// read-only once made).
type Redactor struct {
	secrets [][]byte // longest first
	maxLen  int
}

// NewRedactor returns a Redactor for values. A value with several lines
// is redacted line by line (lines are what the stream holds); values or
// lines shorter than MinSecretLen are ignored.
func NewRedactor(values []string) *Redactor {
	seen := map[string]bool{}
	r := &Redactor{}
	for _, v := range values {
		for _, line := range strings.Split(v, "\n") {
			line = strings.TrimSuffix(line, "\r")
			if len(line) < MinSecretLen || seen[line] {
				continue
			}
			seen[line] = true
			r.secrets = append(r.secrets, []byte(line))
			r.maxLen = max(r.maxLen, len(line))
		}
	}
	slices.SortStableFunc(r.secrets, func(a, b []byte) int { return len(b) - len(a) })
	return r
}

// Len is how many secrets are redacted.
func (r *Redactor) Len() int {
	if r == nil {
		return 0
	}
	return len(r.secrets)
}

// Append appends text to dst with every secret replaced by Mask,
// scanning from the left; where two secrets start at the same place the
// longer wins. Secrets hold no newline, so text may be many lines at
// once: the result is the same as line by line.
func (r *Redactor) Append(dst, text []byte) []byte {
	if r.Len() == 0 {
		return append(dst, text...)
	}
	// next[k] is where secret k occurs next at or after i: -2 not looked
	// for yet, -1 nowhere. Each secret is searched for once per
	// occurrence, so many secrets on every line stay linear.
	var stack [8]int
	next := stack[:0]
	for range r.secrets {
		next = append(next, -2)
	}
	i := 0
	for {
		best, bestLen := -1, 0
		for k, s := range r.secrets {
			if next[k] != -1 && next[k] < i {
				if j := bytes.Index(text[i:], s); j >= 0 {
					next[k] = i + j
				} else {
					next[k] = -1
				}
			}
			// Longest first, so a tie keeps the longer.
			if next[k] >= 0 && (best < 0 || next[k] < best) {
				best, bestLen = next[k], len(s)
			}
		}
		if best < 0 {
			return append(dst, text[i:]...)
		}
		dst = append(dst, text[i:best]...)
		dst = append(dst, Mask...)
		i = best + bestLen
	}
}

// Contains reports whether text holds a secret.
func (r *Redactor) Contains(text []byte) bool {
	if r == nil {
		return false
	}
	for _, s := range r.secrets {
		if bytes.Contains(text, s) {
			return true
		}
	}
	return false
}

// Hold says how many bytes at the end of partial (the beginning of a
// line whose end has not come) must not be written yet: from the first
// place where the rest of partial is the beginning of a secret, which the
// next bytes may complete, moved back so that no whole secret is cut in
// two. What comes before that place can be redacted and written now
// without ever showing a secret, whole or in two pieces.
func (r *Redactor) Hold(partial []byte) int {
	if r.Len() == 0 {
		return 0
	}
	cut := len(partial)
	for i := max(0, len(partial)-r.maxLen+1); i < len(partial); i++ {
		if r.isPrefix(partial[i:]) {
			cut = i
			break
		}
	}
	for moved := true; moved; {
		moved = false
		for _, s := range r.secrets {
			// A whole secret that starts before cut and ends after it.
			lo := max(0, cut-len(s)+1)
			hi := min(len(partial), cut+len(s)-1)
			if lo >= hi {
				continue
			}
			if i := bytes.Index(partial[lo:hi], s); i >= 0 && lo+i < cut {
				cut, moved = lo+i, true
			}
		}
	}
	return len(partial) - cut
}

// isPrefix reports whether b is the beginning (not the whole) of a secret.
func (r *Redactor) isPrefix(b []byte) bool {
	for _, s := range r.secrets {
		if len(s) > len(b) && bytes.HasPrefix(s, b) {
			return true
		}
	}
	return false
}

// AppendCut appends the end of a line that will never be finished (its
// file was replaced or truncated, or logtail is stopping): redacted, and
// with an end that could be the beginning of a secret replaced by Mask,
// since what would have completed it never comes.
func (r *Redactor) AppendCut(dst, text []byte) []byte {
	hold := r.Hold(text)
	dst = r.Append(dst, text[:len(text)-hold])
	if hold > 0 {
		dst = append(dst, Mask...)
	}
	return dst
}

// MaskHeld is AppendCut without redacting the rest, for a caller that
// redacts whole buffers later.
func (r *Redactor) MaskHeld(dst, text []byte) []byte {
	hold := r.Hold(text)
	dst = append(dst, text[:len(text)-hold]...)
	if hold > 0 {
		dst = append(dst, Mask...)
	}
	return dst
}
