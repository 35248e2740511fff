package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockTopology holds a machine-wide lock for the life of one topology: the internal network's
// subnet is fixed, because the task-role address 169.254.170.2 must be on it (with
// 169.254.170.23, the only non-loopback address the SDKs fetch container credentials from over
// plain HTTP), and Docker refuses a second network with the same subnet ("Pool overlaps").
// So topologies started at once — `go test ./...` runs packages in parallel — take turns
// instead of failing. The lock is a flock on a file in the temporary directory, released by
// the kernel if the process dies.
func lockTopology(ctx context.Context) (unlock func(), err error) {
	path := filepath.Join(os.TempDir(), "mcpsso-topology.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("containers: the topology lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil // closing the file releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("containers: the topology lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("containers: waiting for another topology on this machine to finish (lock %s): %w", path, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
