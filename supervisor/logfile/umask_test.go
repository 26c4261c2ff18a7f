package logfile

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpudesk/runtime/supervisor/internal/umask"
)

// TestWriter_rotationIgnoresAForksUmask: while another goroutine has the
// umask set to a child's 077 for its fork, the files a rotation creates
// still get the daemon's mode (they used to get 0600 in that window).
func TestWriter_rotationIgnoresAForksUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "app.log")
	w, err := Open(path, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// A fork that takes a while, as a big daemon's does.
			umask.Fork(0o077, func() { time.Sleep(time.Millisecond) })
		}
	}()
	line := []byte(strings.Repeat("x", 63) + "\n")
	for i := 0; i < 200; i++ {
		w.Write(line) // each write rotates: a new file
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("after rotation %d the log has mode %v, want -rw-r--r--", i, st.Mode().Perm())
			break
		}
	}
	close(stop)
	wg.Wait()
}
