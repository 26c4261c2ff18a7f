package ctl

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// lineReader reads stdin one line at a time, and only when asked, so that
// nothing is read ahead of what Python's input() would have consumed. A
// read abandoned on Ctrl-C is kept for the next one.
type lineReader struct {
	reqs    chan struct{}
	results chan lineResult
	pending bool
}

type lineResult struct {
	line string
	err  error
}

func newLineReader(r io.Reader) *lineReader {
	l := &lineReader{reqs: make(chan struct{}), results: make(chan lineResult, 1)}
	br := bufio.NewReader(r)
	go func() {
		for range l.reqs {
			s, err := br.ReadString('\n')
			switch {
			case err == nil:
				s = strings.TrimSuffix(s, "\n")
			case errors.Is(err, io.EOF) && s != "":
				err = nil
			case errors.Is(err, io.EOF):
			default:
				err = io.EOF // Python's input() raises EOFError on a failed read too
			}
			l.results <- lineResult{s, err}
		}
	}()
	return l
}

// read returns the next line without its newline, io.EOF at the end, or
// ctx.Err() when ctx ends first.
func (l *lineReader) read(ctx context.Context) (string, error) {
	if !l.pending {
		l.reqs <- struct{}{}
		l.pending = true
	}
	select {
	case r := <-l.results:
		l.pending = false
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// close ends the reading goroutine once its current read returns.
func (l *lineReader) close() { close(l.reqs) }

// stdin returns the reader of stdin lines, starting it on first use.
func (c *controller) stdin() *lineReader {
	if c.lines == nil {
		c.lines = newLineReader(c.p.Stdin)
	}
	return c.lines
}

// input is Python's input(prompt): the prompt on stdout, then a line of
// stdin; lines typed at a terminal go to the history.
func (c *controller) input(ctx context.Context, prompt string) (string, error) {
	if prompt != "" {
		io.WriteString(c.out, prompt)
	}
	line, err := c.stdin().read(ctx)
	if err == nil && c.p.Terminal && line != "" {
		if n := len(c.history); n == 0 || c.history[n-1] != line {
			c.history = append(c.history, line)
		}
	}
	return line, err
}

// getpass is Python's getpass.getpass(prompt): on the controlling terminal
// with echo off when there is one, else on stdin, with Python's warning
// when echo cannot be turned off.
func (c *controller) getpass(ctx context.Context, prompt string) (string, error) {
	open := c.p.openTTY
	if open == nil {
		open = func() (*os.File, error) { return os.OpenFile("/dev/tty", os.O_RDWR|syscall.O_NOCTTY, 0) }
	}
	if tty, err := open(); err == nil {
		defer tty.Close()
		if old, err := tcgetattr(tty.Fd()); err == nil {
			noEcho := *old
			noEcho.Lflag &^= syscall.ECHO
			tcsetattr(tty.Fd(), &noEcho)
			defer tcsetattr(tty.Fd(), old)
		}
		io.WriteString(tty, prompt)
		line, err := bufio.NewReader(tty).ReadString('\n')
		io.WriteString(tty, "\n")
		if line == "" && err != nil {
			return "", io.EOF
		}
		return strings.TrimSuffix(line, "\n"), nil
	}
	if f, ok := c.p.Stdin.(*os.File); ok {
		if old, err := tcgetattr(f.Fd()); err == nil {
			noEcho := *old
			noEcho.Lflag &^= syscall.ECHO
			tcsetattr(f.Fd(), &noEcho)
			io.WriteString(c.p.Stderr, prompt)
			line, err := c.stdin().read(ctx)
			tcsetattr(f.Fd(), old)
			io.WriteString(c.p.Stderr, "\n")
			return line, err
		}
	}
	if !c.warnedGetpass {
		c.warnedGetpass = true
		io.WriteString(c.p.Stderr, pythonLibDir+"/getpass.py:91: GetPassWarning: Can not control echo on the terminal.\n"+
			"  passwd = fallback_getpass(prompt, stream)\n")
	}
	io.WriteString(c.p.Stderr, "Warning: Password input may be echoed.\n"+prompt)
	line, err := c.stdin().read(ctx)
	if err == nil {
		io.WriteString(c.p.Stderr, "\n")
	}
	return line, err
}

func tcgetattr(fd uintptr) (*syscall.Termios, error) {
	var t syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return nil, e
	}
	return &t, nil
}

func tcsetattr(fd uintptr, t *syscall.Termios) {
	const tcsetsf = 0x5404 // TCSETSF: TCSAFLUSH, as Python's getpass uses
	syscall.Syscall(syscall.SYS_IOCTL, fd, tcsetsf, uintptr(unsafe.Pointer(t)))
}
