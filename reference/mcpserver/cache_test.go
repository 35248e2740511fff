package mcpserver_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mcpsso/mcpsso/reference/mcpserver"
)

// Many users of two tenants call at once through the session cache, including one source
// identity under two roles and one role and source identity with another tenant's tag set.
// Every call must act as exactly its own role, source identity and tenant, and each distinct
// key must cost exactly one AssumeRole. The other tag set's key must never find the cached
// session of the same role and user: its AssumeRole is made, and refused (each target role
// trusts only its own tenant's tag), on every call.
func TestTheSessionCacheNeverReusesASessionAcrossKeys(t *testing.T) {
	w := newWorld(t)
	h, url := w.serve(t, mcpserver.WithSessionCache(true))
	type caller struct {
		role, user, tenant string
		denied             bool
	}
	callers := []caller{
		{"acme", "usr-a1", "acme", false},
		{"acme", "usr-a2", "acme", false},
		{"globex", "usr-g1", "globex", false},
		{"globex", "usr-a1", "globex", false}, // usr-a1's source identity under the other tenant's role
		{"acme", "usr-a1", "globex", true},    // usr-a1 under acme's role, tagged for globex
	}
	const goroutinesPerCaller, callsPerGoroutine = 3, 4
	var wg sync.WaitGroup
	for _, cl := range callers {
		headers := gateway(cl.role, cl.user)
		headers["X-Session-Tags"] = `{"tenant":"` + cl.tenant + `"}`
		c := connect(t, clients[0], url, modern, headers).(*mcpGoClient)
		wantARN := "arn:aws:sts::" + acct + ":assumed-role/quilt-mcp-target-" + cl.role + "/" + cl.user
		for range goroutinesPerCaller {
			wg.Go(func() {
				for range callsPerGoroutine {
					who, err := c.callContext(context.Background(), "whoami", nil)
					if cl.denied {
						if err != nil || !who.isError || !strings.Contains(who.text, "AccessDenied: sts:AssumeRole") {
							t.Errorf("%+v: whoami = %+v %v, want AccessDenied on sts:AssumeRole", cl, who, err)
							return
						}
						continue
					}
					if err != nil || who.isError || who.structured["arn"] != wantARN || who.structured["tenant"] != cl.tenant {
						t.Errorf("%+v: whoami = %+v %v, want %s of %s", cl, who, err, wantARN, cl.tenant)
						return
					}
					// Listing the tag's tenant bucket works only with a session tagged for it.
					list, err := c.callContext(context.Background(), "list_objects", nil)
					if err != nil || list.isError || list.structured["bucket"] != "quilt-tenant-"+cl.tenant {
						t.Errorf("%+v: list_objects = %+v %v", cl, list, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	allowed, perCaller := len(callers)-1, goroutinesPerCaller*callsPerGoroutine
	calls := allowed * perCaller * 2
	m := scrape(t, h)
	for _, want := range []string{
		fmt.Sprintf(`sts_assume_role_total{result="ok"} %d`, allowed),
		fmt.Sprintf(`sts_assume_role_total{result="access_denied"} %d`, perCaller),
		fmt.Sprintf(`session_cache_lookups_total{result="miss"} %d`, allowed+perCaller),
		fmt.Sprintf(`session_cache_lookups_total{result="hit"} %d`, calls-allowed),
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepMetrics(m))
		}
	}
}

// Without the cache (the default) every tool call assumes the role anew.
func TestWithoutTheCacheEveryCallAssumesTheRole(t *testing.T) {
	w := newWorld(t)
	h, url := w.serve(t)
	c := connect(t, clients[0], url, modern, gateway("acme", "usr-alice"))
	for range 3 {
		if r := c.call(t, "whoami", nil); r.isError {
			t.Fatal(r.text)
		}
	}
	if m := scrape(t, h); !strings.Contains(m, `sts_assume_role_total{result="ok"} 3`) || strings.Contains(m, `session_cache_lookups_total{`) {
		t.Errorf("want three AssumeRole calls and no cache lookups:\n%s", grepMetrics(m))
	}
}
