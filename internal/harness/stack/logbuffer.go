package stack

import (
	"bytes"
	"sync"
)

// logLines is how many of the most recent log lines a stack keeps for Logs.
const logLines = 20000

// logBuffer keeps the most recent log lines in a ring: once full, a new line overwrites the
// oldest, so a line costs the same on a stack that has logged a million lines as on a fresh
// one (a long `mcpsso up` session must not slow down as it runs).
type logBuffer struct {
	mu      sync.Mutex
	partial []byte   // the start of a line whose newline has not been written yet
	ring    []string // grows to its capacity, then wraps; the oldest line at head once full
	head    int
}

func newLogBuffer(max int) *logBuffer {
	return &logBuffer{ring: make([]string, 0, max)}
}

// Write keeps the complete lines of p. They become strings before the lock is taken, so
// writers on other goroutines wait only for ring slots to be filled.
func (b *logBuffer) Write(p []byte) (int, error) {
	var one [1]string // slog writes one whole line per call: no slice to allocate
	lines := one[:0]
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, string(rest[:i]))
		rest = rest[i+1:]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(lines) == 0 {
		b.partial = append(b.partial, p...)
		return len(p), nil
	}
	if len(b.partial) > 0 { // rare: a line written in pieces
		lines[0] = string(b.partial) + lines[0]
	}
	b.partial = append(b.partial[:0], rest...)
	for _, l := range lines {
		b.push(l)
	}
	return len(p), nil
}

// push adds one line, overwriting the oldest when full; callers hold mu.
func (b *logBuffer) push(line string) {
	if len(b.ring) < cap(b.ring) {
		b.ring = append(b.ring, line)
		return
	}
	b.ring[b.head] = line
	b.head++
	if b.head == len(b.ring) {
		b.head = 0
	}
}

// lines returns the kept lines, oldest first.
func (b *logBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.ring))
	out = append(out, b.ring[b.head:]...)
	return append(out, b.ring[:b.head]...)
}
