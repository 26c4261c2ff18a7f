package logfile

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestWriter_rotationKeepsEveryLineWholeAndOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	w, err := Open(path, 4096, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// Writes of odd sizes that cut lines anywhere, from several writers.
	const writers, lines = 4, 3000
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var pending []byte
			for i := 0; i < lines; i++ {
				pending = append(pending, fmt.Sprintf("w%d line %06d %s\n", g, i, strings.Repeat("x", i%37))...)
				if len(pending) > 50+i%97 {
					// A whole batch per Write, as a pipe read delivers it.
					if _, err := w.Write(pending); err != nil {
						t.Error(err)
						return
					}
					pending = nil
				}
			}
			if _, err := w.Write(pending); err != nil {
				t.Error(err)
			}
		}(g)
	}
	wg.Wait()
	w.Close()
	seen := map[string]int{}
	files, _ := filepath.Glob(path + "*")
	if len(files) < 10 {
		t.Fatalf("expected many rotations, got files %v", files)
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		if st.Size() > 2*4096 {
			t.Errorf("%s has %d bytes", name, st.Size())
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			seen[sc.Text()]++
		}
		f.Close()
	}
	for g := 0; g < writers; g++ {
		for i := 0; i < lines; i++ {
			line := fmt.Sprintf("w%d line %06d %s", g, i, strings.Repeat("x", i%37))
			if seen[line] != 1 {
				t.Fatalf("line %q seen %d times", line, seen[line])
			}
		}
	}
}

func TestWriter_backupsAreCappedAndNumbered(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	w, err := Open(path, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		fmt.Fprintf(w, "line-%d....\n", i) // 12 bytes: one rotation per line
	}
	w.Close()
	for name, want := range map[string]string{"x.log": "", "x.log.1": "line-4....\n", "x.log.2": "line-3....\n"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("x.log.3 exists with backups=2")
	}
}

func TestWriter_noBackupsTruncates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	w, _ := Open(path, 10, 0)
	fmt.Fprintf(w, "0123456789\nab")
	w.Close()
	got, _ := os.ReadFile(path)
	if string(got) != "ab" {
		t.Errorf("got %q", got)
	}
}

func TestWriter_specialFileDoesNotRotate(t *testing.T) {
	w, err := Open("/dev/null", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := w.Write([]byte("hello\n")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat("/dev/null.1"); err == nil {
		t.Fatal("rotated /dev/null")
	}
}

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.log")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	tests := []struct {
		offset, length int64
		want           string
		err            error
	}{
		{0, 0, "0123456789", nil},
		{2, 3, "234", nil},
		{8, 5, "89", nil},
		{20, 0, "", nil},
		{-3, 0, "789", nil},
		{-30, 0, "0123456789", nil},
		{-3, 1, "", ErrBadArguments},
		{0, -1, "", ErrBadArguments},
	}
	for _, tt := range tests {
		got, err := Read(path, tt.offset, tt.length)
		if err != tt.err || string(got) != tt.want {
			t.Errorf("Read(%d, %d) = %q, %v; want %q, %v", tt.offset, tt.length, got, err, tt.want, tt.err)
		}
	}
	if _, err := Read(path+".missing", 0, 0); err == nil {
		t.Error("missing file read")
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.log")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	tests := []struct {
		offset, length int64
		want           string
		next           int64
		overflow       bool
	}{
		{0, 4, "6789", 10, true},
		{0, 100, "0123456789", 10, false},
		{10, 100, "", 10, false},
		{8, 4, "6789", 10, false},
		{4, 2, "89", 10, true},
	}
	for _, tt := range tests {
		got, next, of := Tail(path, tt.offset, tt.length)
		if string(got) != tt.want || next != tt.next || of != tt.overflow {
			t.Errorf("Tail(%d, %d) = %q %d %v; want %q %d %v", tt.offset, tt.length, got, next, of, tt.want, tt.next, tt.overflow)
		}
	}
	got, next, of := Tail(path+".missing", 7, 10)
	if len(got) != 0 || next != 7 || of {
		t.Errorf("missing: %q %d %v", got, next, of)
	}
}
