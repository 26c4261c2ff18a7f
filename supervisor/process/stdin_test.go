package process

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

func newPipeQueue(t *testing.T) (*stdinQueue, *os.File, *sync.WaitGroup) {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r := os.NewFile(uintptr(fds[0]), "r")
	t.Cleanup(func() { r.Close() })
	wg := &sync.WaitGroup{}
	return newStdinQueue("p", fds[1], wg), r, wg
}

// A child that never reads: writes return at once until the bound, then
// fail with ErrStdinFull; close ends the goroutine stuck in the write.
func TestStdinQueue_childThatNeverReads(t *testing.T) {
	q, _, wg := newPipeQueue(t)
	piece := bytes.Repeat([]byte("x"), 200<<10) // over a pipe's 64 KiB
	var err error
	written := 0
	for i := 0; i < 20 && err == nil; i++ {
		if err = q.write(piece); err == nil {
			written += len(piece)
		}
	}
	if !errors.Is(err, ErrStdinFull) {
		t.Fatalf("write past the bound = %v, want ErrStdinFull", err)
	}
	if written > MaxStdinQueue+64<<10+len(piece) {
		t.Fatalf("%d bytes were taken, more than the bound allows", written)
	}
	q.close()
	wg.Wait() // returns only if the writer goroutine ended
	if err := q.write([]byte("late")); err == nil {
		t.Fatal("a write after close was accepted")
	}
}

// What is queued reaches the child in order, however it is split; one
// write larger than the bound is taken when nothing waits.
func TestStdinQueue_deliversInOrder(t *testing.T) {
	q, r, wg := newPipeQueue(t)
	var want bytes.Buffer
	big := bytes.Repeat([]byte("b"), MaxStdinQueue+1)
	if err := q.write(big); err != nil {
		t.Fatalf("one large write into an empty queue: %v", err)
	}
	want.Write(big)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, int64(len(big)+3000)))
		got <- b
	}()
	for i := 0; i < 1000; i++ {
		line := []byte{byte('0' + i%10), ' ', '\n'}
		for {
			err := q.write(line)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrStdinFull) {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond) // the reader catches up
		}
		want.Write(line)
	}
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("the child read %d bytes, not the %d written in order", len(b), want.Len())
	}
	q.close()
	wg.Wait()
}

// A child that closed its stdin: later writes fail with EPIPE, which the
// API reports as NO_FILE, as Python does.
func TestStdinQueue_closedByTheChild(t *testing.T) {
	q, r, wg := newPipeQueue(t)
	r.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := q.write([]byte("hello\n"))
		if errors.Is(err, syscall.EPIPE) {
			break
		}
		if err != nil && !errors.Is(err, ErrStdinFull) {
			t.Fatalf("write = %v, want EPIPE", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no EPIPE after the child closed its stdin")
		}
		time.Sleep(5 * time.Millisecond)
	}
	q.close()
	wg.Wait()
}
