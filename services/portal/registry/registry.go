// Package registry reads the web service registrations in /run/http_ports:
// one file per public port, named by the port, holding a flat JSON object
// (listen_port, metrics_port, proxy_port, service_name, service_url).
// ai-dock's wrappers write every value as a string; numbers are accepted
// too. Every value is checked, because the folder is writable by a group
// and whatever is in it ends up in the page and in Caddy's configuration:
// a bad file becomes an Entry with Err set and never a route.
package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what is read.
const (
	// MaxFileBytes is the largest registration read; a bigger one is an
	// error.
	MaxFileBytes = 16 << 10
	// MaxEntries is how many registrations are read; files beyond it (in
	// port order) are reported as one error, so 10,000 files cannot make
	// Caddy open 10,000 listeners.
	MaxEntries = 128
	// MaxNameLen and MaxURLLen bound the strings shown.
	MaxNameLen = 100
	MaxURLLen  = 2048
	MaxPathLen = 512
)

// Registration is one valid web service.
type Registration struct {
	PublicPort  int    `json:"public_port"`
	ListenPort  int    `json:"listen_port"`
	MetricsPort int    `json:"metrics_port,omitempty"`
	Name        string `json:"name"`
	URL         string `json:"url,omitempty"` // a preset public URL (http or https)
	// Program is the supervisor program serving it (the "program" field,
	// an extension; ai-dock's files have none): its card is dimmed while
	// the program is not RUNNING.
	Program string `json:"program,omitempty"`
	// Path is where its links open ("service_path", an extension, e.g.
	// "/lab"; empty for "/").
	Path string `json:"path,omitempty"`
}

// Entry is one file of the folder: a Registration, or why it is not one.
type Entry struct {
	File string        `json:"file"`
	Reg  *Registration `json:"registration,omitempty"`
	Err  string        `json:"error,omitempty"`
}

// raw is the file's JSON; unknown fields are ignored.
type raw struct {
	ListenPort  json.RawMessage `json:"listen_port"`
	MetricsPort json.RawMessage `json:"metrics_port"`
	ProxyPort   json.RawMessage `json:"proxy_port"`
	ServiceName json.RawMessage `json:"service_name"`
	ServiceURL  json.RawMessage `json:"service_url"`
	Program     json.RawMessage `json:"program"`
	ServicePath json.RawMessage `json:"service_path"`
}

// Parse checks the content of the file named name (its public port).
func Parse(name string, data []byte) (Registration, error) {
	var r Registration
	port, err := ParsePort(name)
	if err != nil {
		return r, fmt.Errorf("file name %q: %w", clip(name), err)
	}
	r.PublicPort = port
	if len(data) > MaxFileBytes {
		return r, fmt.Errorf("larger than %d bytes", MaxFileBytes)
	}
	var v raw
	if err := json.Unmarshal(data, &v); err != nil {
		return r, fmt.Errorf("not a JSON object: %w", err)
	}
	if r.ListenPort, err = portField("listen_port", v.ListenPort, true); err != nil {
		return r, err
	}
	if r.MetricsPort, err = portField("metrics_port", v.MetricsPort, false); err != nil {
		return r, err
	}
	proxy, err := portField("proxy_port", v.ProxyPort, false)
	if err != nil {
		return r, err
	}
	if proxy != 0 && proxy != port {
		return r, fmt.Errorf("proxy_port %d differs from the file name %d", proxy, port)
	}
	if r.ListenPort == port {
		return r, fmt.Errorf("listen_port %d is the public port itself", port)
	}
	if r.Name, err = stringField("service_name", v.ServiceName, MaxNameLen); err != nil {
		return r, err
	}
	if r.Name == "" {
		r.Name = "Port " + strconv.Itoa(port)
	}
	u, err := stringField("service_url", v.ServiceURL, MaxURLLen)
	if err != nil {
		return r, err
	}
	if u != "" && u != "null" { // jq -r writes "null" for a missing key
		if err := CheckURL(u); err != nil {
			return r, fmt.Errorf("service_url: %w", err)
		}
		r.URL = u
	}
	if r.Program, err = stringField("program", v.Program, MaxNameLen); err != nil {
		return r, err
	}
	if strings.Trim(r.Program, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") != "" {
		return r, fmt.Errorf("program %q: letters, digits and _ . : - only", clip(r.Program))
	}
	p, err := stringField("service_path", v.ServicePath, MaxPathLen)
	if err != nil {
		return r, err
	}
	if r.Path, err = CleanPath(p); err != nil {
		return r, fmt.Errorf("service_path: %w", err)
	}
	return r, nil
}

// CleanPath checks the path a service's links open: empty or "/" (the
// root, returned as ""), else an absolute URL path of plain characters
// (no "//" that would make a link leave the host, no query, fragment or
// space).
func CleanPath(p string) (string, error) {
	if p == "" || p == "/" {
		return "", nil
	}
	if len(p) > MaxPathLen {
		return "", fmt.Errorf("longer than %d bytes", MaxPathLen)
	}
	if p[0] != '/' || strings.HasPrefix(p, "//") {
		return "", fmt.Errorf("%q: must start with a single /", clip(p))
	}
	if strings.Trim(p, pathChars) != "" {
		return "", fmt.Errorf("%q: letters, digits and / . _ ~ %% - : @ only", clip(p))
	}
	return p, nil
}

const pathChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._~%-:@"

// ParsePort reads a port number 1–65535 written in decimal.
func ParsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" || s[0] == '0' {
		return 0, errors.New("not a port number (1-65535)")
	}
	n, _ := strconv.Atoi(s)
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d out of range (1-65535)", n)
	}
	return n, nil
}

func portField(key string, m json.RawMessage, required bool) (int, error) {
	if len(m) == 0 || string(m) == "null" || string(m) == `""` {
		if required {
			return 0, fmt.Errorf("%s missing", key)
		}
		return 0, nil
	}
	var s string
	if m[0] == '"' {
		if err := json.Unmarshal(m, &s); err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
	} else {
		s = string(m)
	}
	n, err := ParsePort(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", key, clip(s), err)
	}
	return n, nil
}

func stringField(key string, m json.RawMessage, maxLen int) (string, error) {
	if len(m) == 0 || string(m) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(m, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", key)
	}
	return checkText(key, s, maxLen)
}

// checkText trims s and accepts it when it is UTF-8 of at most maxLen
// bytes without control characters (nor the two JavaScript line breaks).
func checkText(key, s string, maxLen int) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxLen {
		return "", fmt.Errorf("%s longer than %d bytes", key, maxLen)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%s is not UTF-8", key)
	}
	for _, c := range s {
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' {
			return "", fmt.Errorf("%s holds a control character", key)
		}
	}
	return s, nil
}

// CheckURL accepts an absolute http or https URL with a host and nothing
// that could turn a link into script (javascript:, data:) or a
// credential leak (user:password@).
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q not accepted (http or https)", clip(u.Scheme))
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	if u.User != nil {
		return errors.New("user information not accepted")
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Scan reads every registration in dir, in port order (names that are not
// ports last). A missing folder is no registrations.
func Scan(dir string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading registrations: %w", err)
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") || !de.Type().IsRegular() {
			continue // editors' and writers' temporary files
		}
		names = append(names, de.Name())
	}
	sort.Slice(names, func(i, j int) bool {
		a, errA := ParsePort(names[i])
		b, errB := ParsePort(names[j])
		switch {
		case errA == nil && errB == nil:
			return a < b
		case errA == nil || errB == nil:
			return errA == nil
		}
		return names[i] < names[j]
	})
	var out []Entry
	for i, name := range names {
		if i == MaxEntries {
			out = append(out, Entry{File: filepath.Join(dir, "…"),
				Err: fmt.Sprintf("%d more files ignored: at most %d registrations are read", len(names)-i, MaxEntries)})
			break
		}
		out = append(out, readOne(dir, name))
	}
	return out, nil
}

func readOne(dir, name string) Entry {
	path := filepath.Join(dir, name)
	e := Entry{File: path}
	f, err := os.Open(path)
	if err != nil {
		e.Err = err.Error()
		return e
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		e.Err = err.Error()
		return e
	}
	if len(data) == 0 {
		e.Err = "empty file"
		return e
	}
	reg, err := Parse(name, data)
	if err != nil {
		e.Err = err.Error()
		return e
	}
	e.Reg = &reg
	return e
}

// Valid returns the registrations of entries that parsed.
func Valid(entries []Entry) []Registration {
	var out []Registration
	for _, e := range entries {
		if e.Reg != nil {
			out = append(out, *e.Reg)
		}
	}
	return out
}
