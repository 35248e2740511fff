package main

import (
	"io"
	"sync"
	"time"
)

// Batching of a served emulator's decision log (aws serve): every request writes a JSON line or
// two, and a system call per line to stderr (a pipe, a terminal, a file) was a few per cent of
// the emulator's CPU. Lines are gathered and written together, within logFlushEvery of the first
// one waiting, or at once when logBatchBytes are waiting.
const (
	logFlushEvery = 5 * time.Millisecond
	logBatchBytes = 64 << 10
)

// batchedWriter gathers what is written to it and passes it on to w in one Write: at most
// every, or at once when maxBatch bytes are waiting, or on Flush and Close. Each Write is kept
// whole and in order (slog's handlers write one record per call); nothing waits longer than
// every. After Close, writes go straight to w, so that nothing written late is lost. A write
// error of w is returned by the next Write, Flush or Close.
type batchedWriter struct {
	mu       sync.Mutex
	w        io.Writer
	every    time.Duration
	maxBatch int
	buf      []byte
	timer    *time.Timer
	armed    bool // the timer will flush what is waiting
	closed   bool
	err      error
}

func newBatchedWriter(w io.Writer, every time.Duration, maxBatch int) *batchedWriter {
	b := &batchedWriter{w: w, every: every, maxBatch: maxBatch}
	b.timer = time.AfterFunc(time.Hour, b.flushDue)
	b.timer.Stop()
	return b
}

func (b *batchedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.err; err != nil {
		b.err = nil
		return 0, err
	}
	if b.closed {
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	switch {
	case len(b.buf) >= b.maxBatch:
		b.flushLocked()
	case !b.armed:
		b.armed = true
		b.timer.Reset(b.every)
	}
	return len(p), nil
}

// flushDue is the timer's flush.
func (b *batchedWriter) flushDue() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	b.flushLocked()
}

// flushLocked writes what is waiting; the buffer is kept for reuse unless a burst made it large.
func (b *batchedWriter) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	if _, err := b.w.Write(b.buf); err != nil && b.err == nil {
		b.err = err
	}
	if cap(b.buf) > 4*b.maxBatch {
		b.buf = nil
	} else {
		b.buf = b.buf[:0]
	}
}

// Flush writes what is waiting now.
func (b *batchedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	err := b.err
	b.err = nil
	return err
}

// Close writes what is waiting; later writes go straight through.
func (b *batchedWriter) Close() error {
	b.mu.Lock()
	b.closed = true
	b.timer.Stop()
	b.armed = false
	b.mu.Unlock()
	return b.Flush()
}
