package process

import (
	"bytes"
	"os"
	"syscall"
	"testing"
	"time"
)

// readAll reads r the way copyOut does (read until EAGAIN, then wait in
// the capture poller) and returns what it read once the pipe says EOF or
// the reader must stop.
func readAll(r *outPipe) []byte {
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := syscall.Read(r.fd, buf)
		got = append(got, buf[:max(n, 0)]...)
		switch {
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			if r.expired() || !r.waitReadable() {
				return got
			}
		case err != nil || n == 0:
			return got
		}
	}
}

func TestOutPipe_readsEveryByteOfManySmallWrites(t *testing.T) {
	r, w := testOutPipe(t)
	defer r.close()
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	const lines = 20000 // 2 MB: more than the pipe holds
	go func() {
		defer w.Close()
		for range lines {
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	}()
	got := readAll(r)
	if want := bytes.Repeat(line, lines); !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want %d identical ones", len(got), len(want))
	}
}

// A grandchild may hold the pipe open after the child exited: the reader
// then stops at closeLater's time instead of waiting for ever, and what
// was written before is read.
func TestOutPipe_closeLaterStopsAReaderWhoseWriterStaysOpen(t *testing.T) {
	r, w := testOutPipe(t)
	defer r.close()
	defer w.Close()
	if _, err := w.Write([]byte("last words\n")); err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() { done <- readAll(r) }()
	r.closeLater(time.Now().Add(50 * time.Millisecond))
	select {
	case got := <-done:
		if string(got) != "last words\n" {
			t.Errorf("read %q, want the bytes written before", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reader did not stop although its drain time passed")
	}
}

// Descriptors are reused: a pipe closed after it was armed must leave
// nothing behind for the next one with its number.
func TestOutPipe_descriptorReuse(t *testing.T) {
	for i := range 50 {
		r, w := testOutPipe(t)
		woke := make(chan bool)
		go func() { woke <- r.waitReadable() }() // armed, then woken by the write
		want := []byte{byte('a' + i%26), '\n'}
		w.Write(want)
		w.Close()
		if !<-woke {
			t.Fatalf("round %d: the reader was not woken by the write", i)
		}
		got := readAll(r)
		r.close()
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: read %q, want %q", i, got, want)
		}
	}
}

// testOutPipe returns a capture pipe and its write end as a file.
func testOutPipe(t *testing.T) (*outPipe, *os.File) {
	t.Helper()
	r, wfd, err := newOutPipe()
	if err != nil {
		t.Fatal(err)
	}
	return r, os.NewFile(uintptr(wfd), "w")
}

// read is a raw system call: it must give what read(2) gives, EAGAIN on
// an empty pipe (never blocking), the bytes written, and EOF (0, nil) once
// the writer is gone.
func TestOutPipe_readEmptyDataEOF(t *testing.T) {
	r, w := testOutPipe(t)
	defer r.close()
	buf := make([]byte, 8)
	if n, err := r.read(buf); n != 0 || err != syscall.EAGAIN {
		t.Fatalf("empty pipe: read = %d, %v; want 0, EAGAIN", n, err)
	}
	if _, err := w.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if n, err := r.read(buf); n != 8 || err != nil || string(buf) != "01234567" {
		t.Fatalf("read = %d, %v, %q; want 8, nil, \"01234567\"", n, err, buf[:n])
	}
	w.Close()
	if n, err := r.read(buf); n != 2 || err != nil || string(buf[:n]) != "89" {
		t.Fatalf("read = %d, %v, %q; want the last 2 bytes", n, err, buf[:n])
	}
	if n, err := r.read(buf); n != 0 || err != nil {
		t.Fatalf("after the writer closed: read = %d, %v; want 0, nil (EOF)", n, err)
	}
}
