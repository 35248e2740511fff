//go:build !unix

package main

import "os"

// processAlive reports whether a process with this pid exists: on these systems FindProcess
// fails for one that does not.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
