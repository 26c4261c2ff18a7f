package rpc

import (
	"strings"
	"testing"
)

// Every method's help ends with its @param and @return tags once, and
// methodSignature agrees with them (aliases share their method's text).
func TestMethodHelpTags(t *testing.T) {
	s := &Server{methods: map[string]*method{}}
	for name, m := range s.supervisorMethods() {
		if n := strings.Count(m.help, "@return"); n != 1 {
			t.Errorf("%s: %d @return tags in %q", name, n, m.help)
		}
		if n := strings.Count(m.help, "@param"); n != len(m.sig)-1 {
			t.Errorf("%s: %d @param tags for %d parameters", name, n, len(m.sig)-1)
		}
	}
}
