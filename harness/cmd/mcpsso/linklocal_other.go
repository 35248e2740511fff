//go:build !linux

package main

import (
	"errors"
	"net/netip"
)

// addLoopbackAddress needs Linux's rtnetlink: `vpc task-endpoint` runs in the kit's Linux image.
func addLoopbackAddress(netip.Addr) error {
	return errors.New("adding a loopback address is only supported on Linux (the kit image)")
}
