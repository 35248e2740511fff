// Package mcpssotest runs the mcpsso stack around your MCP server in your own go test. (Guide
// to be completed.)
package mcpssotest
