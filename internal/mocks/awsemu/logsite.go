package awsemu

import (
	"runtime"
	"sync/atomic"
)

// logSite is the program counter of a log call made on every request. slog.Logger.LogAttrs
// unwinds the stack for it on each call (for handlers that write the source); a call site's
// counter never changes, so it is taken once.
type logSite struct{ pc atomic.Uintptr }

// get returns the counter of the line that calls it.
func (s *logSite) get() uintptr {
	if pc := s.pc.Load(); pc != 0 {
		return pc
	}
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:]) // skip runtime.Callers and get
	s.pc.Store(pcs[0])
	return pcs[0]
}
