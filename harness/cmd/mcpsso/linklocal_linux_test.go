package main

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAddLoopbackAddress adds the task address to lo in a fresh network namespace, as
// `vpc task-endpoint` does inside a topology's task namespace, twice (the second is no error),
// and reads it back.
func TestAddLoopbackAddress(t *testing.T) {
	type result struct {
		addrs []string
		err   error
		skip  string
	}
	done := make(chan result, 1)
	go func() {
		// Never unlocked: the thread, and the namespace with it, ends with this goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			if errors.Is(err, unix.EPERM) && os.Getenv("MCPSSO_REQUIRE_DOCKER") != "1" {
				done <- result{skip: "creating a network namespace needs CAP_SYS_ADMIN (root), as Docker does: " + err.Error() + " (set MCPSSO_REQUIRE_DOCKER=1 to fail instead)"}
				return
			}
			done <- result{err: err}
			return
		}
		ip := netip.MustParseAddr("169.254.170.2")
		for range 2 {
			if err := addLoopbackAddress(ip); err != nil {
				done <- result{err: err}
				return
			}
		}
		if err := addLoopbackAddress(netip.MustParseAddr("fd00:ec2::23")); err == nil || !strings.Contains(err.Error(), "IPv4") {
			done <- result{err: errors.New("an IPv6 address was not refused")}
			return
		}
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			done <- result{err: err}
			return
		}
		addrs, err := lo.Addrs()
		var out []string
		for _, a := range addrs {
			out = append(out, a.String())
		}
		done <- result{addrs: out, err: err}
	}()
	r := <-done
	if r.skip != "" {
		t.Skip(r.skip)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.addrs) != 1 || r.addrs[0] != "169.254.170.2/32" {
		t.Fatalf("lo has %v, want exactly [169.254.170.2/32]", r.addrs)
	}
}
