package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"
)

// smallDisk mounts a tmpfs of size bytes on a new folder, unmounted at the
// end of the test.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Fatalf("mounting a %d-byte tmpfs on %s: %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// notices records what a Writer tells.
type notices struct {
	mu  sync.Mutex
	got []Notice
}

func (n *notices) add(x Notice) { n.mu.Lock(); n.got = append(n.got, x); n.mu.Unlock() }

func (n *notices) all() []Notice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Notice(nil), n.got...)
}

var wholeLine = regexp.MustCompile(`^line \d{6} x+$`)

// checkWholeLines fails unless every line of path is one the test wrote.
func checkWholeLines(t *testing.T, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("%s ends inside a line: %q", path, data[max(len(data)-40, 0):])
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l != "" && !wholeLine.MatchString(l) {
			t.Errorf("torn line in %s: %q", path, l)
		}
	}
	return int64(len(data))
}

// TestWriter_fullDisk fills a real tmpfs: the loss is counted to the
// byte, no line is torn, one notice says so, and writing resumes by itself
// once there is room again.
func TestWriter_fullDisk(t *testing.T) {
	dir := smallDisk(t, 64<<10)
	path := filepath.Join(dir, "app.log")
	w, err := Open(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var n notices
	w.SetNotify(n.add)
	// Writes of many lines, whose ends fall anywhere in a filesystem page.
	var sent int64
	write := func(from, to int) {
		var b bytes.Buffer
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "line %06d %s\n", i, strings.Repeat("x", 1+i%61))
		}
		sent += int64(b.Len())
		w.Write(b.Bytes())
	}
	for i := 0; i < 3000; i += 7 {
		write(i, i+7)
	}
	if w.Fault() == nil || !errors.Is(w.Fault(), syscall.ENOSPC) {
		t.Fatalf("fault = %v, want ENOSPC", w.Fault())
	}
	kept := checkWholeLines(t, path)
	if lost := w.Lost(); lost == 0 || kept+lost != sent {
		t.Errorf("kept %d + lost %d != sent %d", kept, lost, sent)
	}
	got := n.all()
	if len(got) != 1 || got[0].Err == nil || got[0].Path != path {
		t.Fatalf("notices while full = %+v, want one fault", got)
	}
	// Room again: the next write works and says what was lost.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	lostBefore := w.Lost()
	w.Write([]byte("line 999999 xx\n"))
	got = n.all()
	if len(got) != 2 || got[1].Err != nil || got[1].Lost != lostBefore {
		t.Fatalf("notices after room = %+v, want a recovery reporting %d bytes", got, lostBefore)
	}
	if data, _ := os.ReadFile(path); !strings.HasSuffix(string(data), "line 999999 xx\n") {
		t.Errorf("after recovery the file holds %q", data)
	}
	// Full again, after the file was truncated behind the Writer's back
	// (as logrotate's copytruncate does): the cut is measured from the
	// real end of the file, never past it (that would fill it with NULs).
	for i := 0; i < 3000 && w.Fault() == nil; i += 7 {
		write(i, i+7)
	}
	if w.Fault() == nil {
		t.Fatal("no second fault")
	}
	checkWholeLines(t, path)
}

// TestWriter_lossInsideALineDropsItsRest: when a write is lost in the
// middle of a line, the rest of that line (in the next write) is dropped
// too rather than glued to the last whole line (the old `lineline 8980`).
func TestWriter_lossInsideALineDropsItsRest(t *testing.T) {
	dir := smallDisk(t, 16<<10)
	path := filepath.Join(dir, "app.log")
	w, err := Open(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// One page of whole lines, so that the next byte needs a new page.
	page := strings.Repeat("line 000000 xxx\n", 4096/16)
	w.Write([]byte(page))
	// Another file takes every byte left.
	hog, err := os.Create(filepath.Join(dir, "hog"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := hog.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	hog.Write(make([]byte, 1))         // the last bytes of a page
	w.Write([]byte("line 000001 xxx")) // lost, cut inside the line
	if w.Fault() == nil {
		t.Fatal("no fault on a full disk")
	}
	hog.Close()
	os.Remove(hog.Name()) // room again
	w.Write([]byte("xxx\nline 000002 xx\n"))
	data, _ := os.ReadFile(path)
	if string(data) != page+"line 000002 xx\n" {
		t.Errorf("file = %q, want the whole lines only", data)
	}
	if want := int64(len("line 000001 xxxxxx\n")); w.Lost() != want {
		t.Errorf("lost %d, want %d", w.Lost(), want)
	}
}

// TestWriter_rotationIntoADeletedFolderRecovers: a failed rotation no
// longer turns the log off for good; it is retried and Reopen (SIGUSR2, a
// spawn) brings it back at once.
func TestWriter_rotationIntoADeletedFolderRecovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	os.Mkdir(dir, 0o755)
	path := filepath.Join(dir, "app.log")
	w, err := Open(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var n notices
	w.SetNotify(n.add)
	os.RemoveAll(dir)
	w.Write([]byte(strings.Repeat("line 000000 xxxxxxxxxx\n", 10))) // rotates into nothing
	if w.Fault() == nil || !errors.Is(w.Fault(), os.ErrNotExist) {
		t.Fatalf("fault = %v, want a missing folder", w.Fault())
	}
	w.Write([]byte("line 000001 lost\n"))
	// The first 5 lines reach maxBytes and went to the deleted file; the
	// rest and the next line are lost.
	wantLost := int64(5*len("line 000000 xxxxxxxxxx\n") + len("line 000001 lost\n"))
	if got := n.all(); len(got) != 1 || got[0].Err == nil || !strings.Contains(got[0].Err.Error(), path) {
		t.Fatalf("notices = %+v, want one fault naming %s", got, path)
	}
	os.Mkdir(dir, 0o755)
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("line 000002 xx\n"))
	data, _ := os.ReadFile(path)
	if string(data) != "line 000002 xx\n" {
		t.Errorf("after Reopen the file holds %q", data)
	}
	got := n.all()
	if len(got) != 2 || got[1].Err != nil || got[1].Lost != wantLost {
		t.Errorf("notices = %+v, want a recovery that reports the lost line", got)
	}
}

// setImmutable sets or clears a folder's immutable flag (chattr +i): even
// root can then create, rename or remove nothing in it.
func setImmutable(t *testing.T, dir string, on bool) {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const getFlags, setFlags, immutable = 0x80086601, 0x40086602, 0x10 // FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_IMMUTABLE_FL
	var flags int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), getFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		t.Fatalf("reading the flags of %s: %v", dir, e)
	}
	if on {
		flags |= immutable
	} else {
		flags &^= immutable
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), setFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		t.Fatalf("setting the flags of %s: %v", dir, e)
	}
}

// TestWriter_immutableFolderRotationIsRetried: a rotation that cannot
// rename (the folder made immutable or read-only) keeps being tried and
// works once the folder is writable again, without a Reopen.
func TestWriter_immutableFolderRotationIsRetried(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a folder immutable")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	w, err := Open(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	setImmutable(t, dir, true)
	t.Cleanup(func() { setImmutable(t, dir, false) })
	w.Write([]byte(strings.Repeat("line 000000 xxxxxxxxxx\n", 10)))
	if w.Fault() == nil || !errors.Is(w.Fault(), syscall.EPERM) {
		t.Fatalf("fault = %v, want EPERM", w.Fault())
	}
	w.Write([]byte("line 000001 lost\n"))
	setImmutable(t, dir, false)
	w.mu.Lock()
	w.fault.retryAt = w.fault.retryAt.Add(-retryEvery) // as if the second had passed
	w.mu.Unlock()
	w.Write([]byte("line 000002 xx\n"))
	if w.Fault() != nil {
		t.Fatalf("still failing after the folder came back: %v", w.Fault())
	}
	if data, _ := os.ReadFile(path); string(data) != "line 000002 xx\n" {
		t.Errorf("after the retry the file holds %q", data)
	}
	if data, _ := os.ReadFile(path + ".1"); len(data) != 5*len("line 000000 xxxxxxxxxx\n") {
		t.Errorf("the rotated file holds %q", data)
	}
}
