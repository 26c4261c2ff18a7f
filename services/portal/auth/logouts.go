package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// LogoutsFile keeps the ids of logged-out sessions until their cookies
// expire, below the root, mode 0600, so a logout survives a restart of
// the portal (a cookie holds no state the portal could otherwise forget).
const LogoutsFile = "var/lib/gpudesk/portal-logouts.json"

// maxLogouts bounds the file. Every entry needs a successful login first
// and is dropped when its cookie expires, so the bound is far above what
// a box sees; past it the file is no longer updated (forgetting entries
// would bring their sessions back after a restart) and Logout says so.
const maxLogouts = 100_000

// loadLogouts reads path: a JSON object of session id → Unix expiry.
// Expired entries are dropped. A missing file is an empty list.
func loadLogouts(path string, now time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("reading logged-out sessions: %w", err)
	}
	var raw map[string]int64
	if err := json.Unmarshal(b, &raw); err != nil {
		return out, fmt.Errorf("logged-out sessions %s: not a JSON object of id to expiry: %w", path, err)
	}
	for id, exp := range raw {
		t := time.Unix(exp, 0)
		if t.After(now) {
			out[id] = t
		}
	}
	return out, nil
}

// saveLogouts writes m to path atomically (a temporary file renamed over
// it), so a crash never leaves a half-written list.
func saveLogouts(path string, m map[string]time.Time) error {
	raw := make(map[string]int64, len(m))
	for id, t := range m {
		raw[id] = t.Unix()
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("encoding logged-out sessions: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing logged-out sessions: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing logged-out sessions: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing logged-out sessions: %w", err)
	}
	return nil
}
