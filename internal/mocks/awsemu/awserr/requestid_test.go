package awserr

import (
	"regexp"
	"testing"
)

func TestNewRequestIDIsAFreshUUIDText(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id := NewRequestID()
		if !uuid.MatchString(id) {
			t.Fatalf("NewRequestID() = %q; want 8-4-4-4-12 lowercase hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewRequestID() = %q twice", id)
		}
		seen[id] = true
	}
}
