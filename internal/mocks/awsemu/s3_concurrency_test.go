package awsemu_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestConcurrentTenantsNeverCrossOver: 64 goroutines, half acme and half globex sessions, each
// doing 1000 mixed operations on its own bucket and attacks on the other's, under -race.
// Every attack must fail with 403 and nothing may answer 5xx.
func TestConcurrentTenantsNeverCrossOver(t *testing.T) {
	const workers = 64
	// 64 goroutines × 250 calls: 16,000 requests interleave, enough for the race detector to see
	// shared state and for a crossed-over tenant to show; more only adds minutes under -race.
	ops := 250
	if testing.Short() {
		ops = 50
	}
	w := newTenantWorld(t, "reference")
	ctx := t.Context()
	clients := map[string]*s3.Client{"acme": w.session(t, "acme", "usr-acme"), "globex": w.session(t, "globex", "usr-globex")}
	var crossSuccesses, serverErrors, ownFailures atomic.Int64
	var firstProblem sync.Once
	var problem string
	note := func(format string, args ...any) {
		firstProblem.Do(func() { problem = fmt.Sprintf(format, args...) })
	}
	status := func(err error) int {
		var re *awshttp.ResponseError
		if err != nil && errorsAs(err, &re) {
			return re.HTTPStatusCode()
		}
		return 0
	}
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		self, other := "acme", "globex"
		if g%2 == 1 {
			self, other = other, self
		}
		c := clients[self]
		own, theirs := "quilt-tenant-"+self, "quilt-tenant-"+other
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < ops; i++ {
				key := fmt.Sprintf("w%d/k%d", g, i%10)
				var err error
				attack := false
				switch i % 5 {
				case 0:
					err = putObject(ctx, c, own, key, self)
				case 1:
					var got string
					got, err = getObject(ctx, c, own, fmt.Sprintf("w%d/k%d", g, (i-1)%10))
					if err == nil && got != self {
						note("worker %d read %q from its own bucket", g, got)
						ownFailures.Add(1)
					}
				case 2:
					_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(own), Prefix: aws.String(fmt.Sprintf("w%d/", g))})
				case 3:
					attack = true
					_, err = getObject(ctx, c, theirs, "data.csv")
				case 4:
					attack = true
					err = putObject(ctx, c, theirs, key, "from "+self)
				}
				code := status(err)
				switch {
				case code >= 500:
					serverErrors.Add(1)
					note("worker %d op %d: %v", g, i, err)
				case attack && err == nil:
					crossSuccesses.Add(1)
					note("worker %d (%s) succeeded against %s", g, self, theirs)
				case attack && code != http.StatusForbidden:
					note("worker %d attack: %v, want 403", g, err)
					crossSuccesses.Add(1)
				case !attack && err != nil:
					ownFailures.Add(1)
					note("worker %d op %d on its own bucket: %v", g, i, err)
				}
			}
		}()
	}
	wg.Wait()
	if crossSuccesses.Load() != 0 || serverErrors.Load() != 0 || ownFailures.Load() != 0 {
		t.Fatalf("%d cross-tenant successes, %d 5xx, %d failures on own buckets; first: %s",
			crossSuccesses.Load(), serverErrors.Load(), ownFailures.Load(), problem)
	}
}
