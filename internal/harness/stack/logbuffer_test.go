package stack

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// keptLines is what a log buffer of max lines must return after the writes: every complete
// line of their concatenation, the last max of them, oldest first.
func keptLines(writes []string, max int) []string {
	all := strings.Join(writes, "")
	lines := strings.Split(all, "\n")
	lines = lines[:len(lines)-1] // the text after the last newline is not a line yet
	if len(lines) > max {
		lines = lines[len(lines)-max:]
	}
	return lines
}

func TestLogBufferKeepsTheLatestLinesInOrder(t *testing.T) {
	line := func(i int) string { return fmt.Sprintf(`{"msg":"line %d"}`, i) }
	var many []string
	for i := range 25 {
		many = append(many, line(i)+"\n")
	}
	cases := map[string][]string{
		"nothing":                nil,
		"fewer than it keeps":    many[:3],
		"exactly as many":        many[:10],
		"one more":               many[:11],
		"wrapped twice and more": many,
		"several lines a write":  {line(1) + "\n" + line(2) + "\n" + line(3) + "\n", line(4) + "\n" + line(5) + "\n"},
		"a line in pieces":       {`{"msg":`, `"split`, ` line"}` + "\n" + line(7) + "\n", line(8)[:4], line(8)[4:] + "\n"},
		"an unfinished line":     {line(1) + "\n", `{"msg":"not yet`},
		"empty lines":            {"\n\n", line(1) + "\n\n"},
		"pieces across the wrap": append(slices.Clone(many[:12]), `{"a":`, `1}`+"\n"),
	}
	for name, writes := range cases {
		t.Run(name, func(t *testing.T) {
			b := newLogBuffer(10)
			for _, w := range writes {
				n, err := b.Write([]byte(w))
				if err != nil || n != len(w) {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", w, n, err, len(w))
				}
			}
			if got, want := b.lines(), keptLines(writes, 10); !slices.Equal(got, want) {
				t.Errorf("lines() = %q\nwant %q", got, want)
			}
		})
	}
}

func TestLogBufferLinesAreACopy(t *testing.T) {
	b := newLogBuffer(2)
	_, _ = b.Write([]byte("a\nb\n"))
	got := b.lines()
	_, _ = b.Write([]byte("c\n"))
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("lines() read before a write = %q after it; want [a b]", got)
	}
	if got := b.lines(); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("lines() = %q; want [b c]", got)
	}
}

// Concurrent writers of whole lines (slog's handlers, one per component) lose no line and
// keep each writer's lines in its order.
func TestLogBufferConcurrentWriters(t *testing.T) {
	const writers, each = 4, 500
	b := newLogBuffer(writers * each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				_, _ = b.Write(fmt.Appendf(nil, "w%d %d\n", w, i))
			}
		})
	}
	wg.Wait()
	next := make([]int, writers)
	for _, l := range b.lines() {
		var w, i int
		if _, err := fmt.Sscanf(l, "w%d %d", &w, &i); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if i != next[w] {
			t.Fatalf("writer %d: line %d after line %d", w, i, next[w]-1)
		}
		next[w]++
	}
	for w, n := range next {
		if n != each {
			t.Errorf("writer %d: %d lines kept; want %d", w, n, each)
		}
	}
}

// BenchmarkLogBufferWrite is the cost of one JSON log line as `mcpsso up` writes it, after 1k,
// 100k and 1M lines were already written to a stack's buffer (which keeps 20 000): the cost
// must not grow with the lines written before.
func BenchmarkLogBufferWrite(b *testing.B) {
	line := []byte(`{"time":"2026-12-07T03:04:05.123456789Z","level":"INFO","msg":"decision","component":"authorizer","sub":"usr-alice","tenant":"acme","role_arn":"arn:aws:iam::111111111111:role/quilt-mcp-target-acme","decision":"allow","request_id":"3f2c9a1e-0b7d-4e55-9c1a-7d2f8e4b6a10"}` + "\n")
	for _, written := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("written=%d", written), func(b *testing.B) {
			buf := newLogBuffer(logLines)
			for range written {
				_, _ = buf.Write(line)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = buf.Write(line)
			}
		})
	}
}
