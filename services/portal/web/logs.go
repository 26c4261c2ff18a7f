package web

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gpudesk/runtime/services/portal/auth"
	"github.com/gpudesk/runtime/services/portal/logview"
)

// LogInfo is one viewable log.
type LogInfo struct {
	Name string `json:"name"` // "logtail" or a program's name
	Path string `json:"path"`
}

// logs lists the viewable logs: the logtail stream and each program's
// log file. Paths come from supervisord, never from the request.
func (s *Server) logs() []LogInfo {
	out := []LogInfo{{Name: "logtail", Path: s.LogtailPath}}
	for _, p := range s.Poller.Current().Processes {
		if p.Log != "" && filepath.IsAbs(p.Log) && !strings.HasPrefix(p.Log, "/dev/") {
			out = append(out, LogInfo{Name: p.Name, Path: p.Log})
		}
		if p.ErrLog != "" && filepath.IsAbs(p.ErrLog) && !strings.HasPrefix(p.ErrLog, "/dev/") && p.ErrLog != p.Log {
			out = append(out, LogInfo{Name: p.Name + ".stderr", Path: p.ErrLog})
		}
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].Name < out[1+j].Name })
	return out
}

func (s *Server) logPath(name string) (string, bool) {
	for _, l := range s.logs() {
		if l.Name == name {
			return l.Path, true
		}
	}
	return "", false
}

func (s *Server) apiLogs(w http.ResponseWriter, r *http.Request, who auth.Who) {
	writeJSON(w, http.StatusOK, map[string]any{"logs": s.logs()})
}

// tailBytes is how much of a file's end the lines API reads.
const tailBytes = 1 << 20

// apiLog returns the last lines (?lines=N, default 200, at most 5000) of
// a log as plain text, redacted, escape sequences removed.
func (s *Server) apiLog(w http.ResponseWriter, r *http.Request, who auth.Who) {
	path, ok := s.logPath(r.PathValue("name"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such log: " + r.PathValue("name")})
		return
	}
	n := 200
	if v, err := strconv.Atoi(r.URL.Query().Get("lines")); err == nil && v > 0 {
		n = min(v, 5000)
	}
	f, err := os.Open(path)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"name": r.PathValue("name"), "lines": []string{}, "error": err.Error()})
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > tailBytes {
		f.Seek(st.Size()-tailBytes, io.SeekStart)
	}
	data, _ := io.ReadAll(io.LimitReader(f, tailBytes))
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		var b strings.Builder
		for _, seg := range logview.Render(string(s.Redactor.Append(nil, []byte(l)))) {
			b.WriteString(seg[0])
		}
		out = append(out, b.String())
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": r.PathValue("name"), "lines": out})
}

// apiLogStream streams a log as server-sent events of logview.Message.
func (s *Server) apiLogStream(w http.ResponseWriter, r *http.Request, who auth.Who) {
	path, ok := s.logPath(r.PathValue("name"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such log: " + r.PathValue("name")})
		return
	}
	v := s.Logs.Watch(path)
	defer v.Close()
	serveSSE(w, r, v.C)
}

// maxBatch is how many log events go out in one write.
const maxBatch = 128

// downloadMax is how much of a log's end a download holds.
const downloadMax = 64 << 20

// apiLogDownload sends the log, redacted, as a file.
func (s *Server) apiLogDownload(w http.ResponseWriter, r *http.Request, who auth.Who) {
	name := r.PathValue("name")
	path, ok := s.logPath(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such log: " + name})
		return
	}
	f, err := os.Open(path)
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > downloadMax {
		f.Seek(st.Size()-downloadMax, io.SeekStart)
	}
	safe := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			return c
		}
		return '_'
	}, name)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safe+`.log"`)
	br := bufio.NewReaderSize(f, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	var buf []byte
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			buf = s.Redactor.Append(buf[:0], line)
			bw.Write(buf)
		}
		if err == bufio.ErrBufferFull {
			continue // a long line: written in pieces (a secret across the cut is the one case missed)
		}
		if err != nil {
			return
		}
	}
}
