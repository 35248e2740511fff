package iam_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iam"
)

// BenchmarkAddSessionAndLookup is what an AssumeRole and the first request signed with its
// credentials cost the store, after 1k, 100k and 1M sessions issued (none expired): the cost
// per operation, and the collector's work on what the store keeps, should not grow with them.
func BenchmarkAddSessionAndLookup(b *testing.B) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	// The clock moves a microsecond a read, as a real one would between requests: the store
	// sweeps as it does on a running emulator, and no session expires within the benchmark.
	var ticks atomic.Int64
	store := iam.NewStore(iam.WithClock(func() time.Time { return t0.Add(time.Duration(ticks.Add(1)) * time.Microsecond) }))
	session := func(i int) iam.Session {
		return iam.Session{Issued: t0, Expiration: t0.Add(12 * time.Hour), Account: "111122223333",
			RoleARN: "arn:aws:iam::111122223333:role/app", RoleName: "app", RoleID: "AROAEXAMPLEEXAMPLE1",
			SessionName: fmt.Sprintf("usr-%d", i%50), SourceIdentity: fmt.Sprintf("usr-%d@acme.example", i%50),
			Tags: []iam.Tag{{Key: "tenant", Value: "acme"}}}
	}
	issued := 0
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		for ; issued < n; issued++ {
			store.AddSession(session(issued))
		}
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s := store.AddSession(session(i))
				if _, err := store.LookupAccessKey(ctx, s.AccessKeyID); err != nil {
					b.Fatal(err)
				}
			}
			issued += b.N
		})
	}
}

// BenchmarkGCWithSessions is one full garbage collection with 1k, 100k and 1M sessions held:
// what every collection of a long-running emulator pays for the sessions it keeps.
func BenchmarkGCWithSessions(b *testing.B) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	var ticks atomic.Int64
	store := iam.NewStore(iam.WithClock(func() time.Time { return t0.Add(time.Duration(ticks.Add(1)) * time.Microsecond) }))
	issued := 0
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		for ; issued < n; issued++ {
			store.AddSession(iam.Session{Issued: t0, Expiration: t0.Add(12 * time.Hour), Account: "111122223333",
				RoleARN: "arn:aws:iam::111122223333:role/app", RoleName: "app", RoleID: "AROAEXAMPLEEXAMPLE1",
				SessionName: fmt.Sprintf("usr-%d", issued%50), Tags: []iam.Tag{{Key: "tenant", Value: "acme"}}})
		}
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
			}
			if store.SessionCount() != n {
				b.Fatalf("%d sessions, want %d", store.SessionCount(), n)
			}
		})
	}
}
