package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that the timer's goroutine and the test may share; it counts
// the writes it received.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) snapshot() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.writes
}

func TestBatchedWriterKeepsLinesInOrderAndWritesThemTogether(t *testing.T) {
	var out lockedBuffer
	w := newBatchedWriter(&out, time.Hour, 1<<20) // the timer never fires within the test
	var want strings.Builder
	for i := range 100 {
		line := fmt.Sprintf(`{"msg":"aws request","n":%d}`+"\n", i)
		want.WriteString(line)
		if n, err := w.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if got, writes := out.snapshot(); got != "" || writes != 0 {
		t.Fatalf("written before any flush: %d writes, %q", writes, got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, writes := out.snapshot(); got != want.String() || writes != 1 {
		t.Fatalf("after Close: %d writes, want 1 holding every line in order; got %q", writes, got)
	}
	// After Close a line goes straight through: nothing written during shutdown is lost.
	if _, err := w.Write([]byte("late\n")); err != nil {
		t.Fatal(err)
	}
	if got, writes := out.snapshot(); !strings.HasSuffix(got, "late\n") || writes != 2 {
		t.Fatalf("a write after Close: %d writes, %q", writes, got)
	}
}

func TestBatchedWriterFlushesAFullBatchAtOnce(t *testing.T) {
	var out lockedBuffer
	w := newBatchedWriter(&out, time.Hour, 64)
	line := strings.Repeat("x", 40) + "\n"
	_, _ = w.Write([]byte(line))
	if _, writes := out.snapshot(); writes != 0 {
		t.Fatalf("%d writes below the batch size", writes)
	}
	_, _ = w.Write([]byte(line)) // 82 bytes waiting ≥ 64
	if got, writes := out.snapshot(); writes != 1 || got != line+line {
		t.Fatalf("a full batch: %d writes, %q", writes, got)
	}
}

func TestBatchedWriterFlushesWaitingLinesOnItsOwn(t *testing.T) {
	var out lockedBuffer
	w := newBatchedWriter(&out, time.Millisecond, 1<<20)
	defer w.Close()
	_, _ = w.Write([]byte("one\n"))
	// Waits for the timer's flush, however late the machine lets it run (no time is asserted).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if got, _ := out.snapshot(); got == "one\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a waiting line was never written without Flush or Close")
		}
	}
	_, _ = w.Write([]byte("two\n")) // the timer is armed again for the next line
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if got, _ := out.snapshot(); got == "one\ntwo\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the second line was never written")
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("stderr closed") }

func TestBatchedWriterReportsAWriteErrorOnce(t *testing.T) {
	w := newBatchedWriter(failingWriter{}, time.Hour, 1<<20)
	_, _ = w.Write([]byte("line\n"))
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "stderr closed") {
		t.Fatalf("Flush = %v, want the writer's error", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("the error was reported again: %v", err)
	}
}
