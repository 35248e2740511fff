package gateway

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// inlineBody holds a small body of known length in memory, leaves the rest streamed, and
// passes a broken body's bytes and error on as the stream would.
func TestInlineBody(t *testing.T) {
	small := strings.Repeat("x", 300)
	// As the proxy hands it over: a stream net/http cannot tell is in memory.
	out := &http.Request{Body: io.NopCloser(struct{ io.Reader }{strings.NewReader(small)}), ContentLength: int64(len(small))}
	inlineBody(out)
	if got := readAll(t, out.Body); got != small {
		t.Fatalf("body %q, want %q", got, small)
	}
	if _, inMemory := out.Body.(io.WriterTo); !inMemory {
		t.Fatalf("a %d-byte body is %T, want it held in memory", len(small), out.Body)
	}

	big := io.NopCloser(strings.NewReader(strings.Repeat("y", inlineBodyBytes+1)))
	out = &http.Request{Body: big, ContentLength: inlineBodyBytes + 1}
	inlineBody(out)
	if out.Body != big {
		t.Fatal("a body over inlineBodyBytes was read into memory; it must stream")
	}
	unknown := io.NopCloser(strings.NewReader("z"))
	out = &http.Request{Body: unknown, ContentLength: -1}
	if inlineBody(out); out.Body != unknown {
		t.Fatal("a body of unknown length was replaced")
	}

	gone := errors.New("client went away")
	out = &http.Request{Body: io.NopCloser(&failingReader{data: []byte("abc"), err: gone}), ContentLength: 10}
	inlineBody(out)
	got, err := io.ReadAll(out.Body)
	if string(got) != "abc" || !errors.Is(err, gone) {
		t.Fatalf("a broken body gave %q, %v; want its 3 bytes, then the error", got, err)
	}
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
