package authorizer_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpsso/mcpsso/internal/mocks/mockidp"
)

// TestEveryDecisionIsOneLogRecordWithStableKeys checks the decision log: the same keys for
// allows and denies, the values of an allow, and never the token.
func TestEveryDecisionIsOneLogRecordWithStableKeys(t *testing.T) {
	e := newEnv(t)
	alice := e.token(t, "alice")
	expired := e.forge(t, mockidp.ForgeExpired, "alice")
	e.decide(t, bearer(alice))
	e.decide(t, bearer(expired))
	e.decide(t, bearer(e.token(t, "carol")))

	var decisions []map[string]any
	for _, r := range e.logs.records(t) {
		if r["msg"] == "authorization decision" {
			decisions = append(decisions, r)
		}
	}
	if len(decisions) != 3 {
		t.Fatalf("%d decision records, want 3", len(decisions))
	}
	for _, r := range decisions {
		for _, k := range []string{"time", "level", "msg", "request_id", "decision", "reason", "sub", "source_identity", "tenant", "role_arn", "tags", "latency_ms"} {
			if _, ok := r[k]; !ok {
				t.Errorf("record %v lacks the key %s", r, k)
			}
		}
	}
	allow, expiredRec, carol := decisions[0], decisions[1], decisions[2]
	if allow["decision"] != "allow" || allow["reason"] != "ok" || allow["level"] != "INFO" || allow["sub"] != "00u8c2d9qkL4mT7xw5d7" ||
		allow["role_arn"] != "arn:aws:iam::111122223333:role/quilt-mcp-target-acme" || allow["tenant"] != "acme" {
		t.Errorf("allow record %v", allow)
	}
	if tags, _ := allow["tags"].([]any); len(tags) != 1 {
		t.Errorf("allow tags %v, want the tenant tag", allow["tags"])
	}
	if expiredRec["decision"] != "deny" || expiredRec["reason"] != "token_expired" || expiredRec["level"] != "WARN" || expiredRec["detail"] == "" {
		t.Errorf("expired record %v", expiredRec)
	}
	if carol["reason"] != "unknown_user" || carol["sub"] != "104592837461029384756" {
		t.Errorf("carol's record %v", carol)
	}
	logs := e.logs.String()
	for _, tok := range []string{alice, expired} {
		for _, part := range strings.Split(tok, ".") {
			if strings.Contains(logs, part) {
				t.Fatalf("the log holds part of a token")
			}
		}
	}
}

func TestTheMetricsCountDecisionsByReason(t *testing.T) {
	e := newEnv(t)
	e.decide(t, bearer(e.token(t, "alice")))
	e.decide(t, bearer(e.token(t, "carol")))
	e.decide(t, bearer(e.token(t, "carol")))
	rec := httptest.NewRecorder()
	e.az.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`authorizer_decisions_total{decision="allow",reason="ok"} 1`,
		`authorizer_decisions_total{decision="deny",reason="unknown_user"} 2`,
		`authorizer_decisions_total{decision="deny",reason="idp_unavailable"} 0`,
		`authorizer_jwks_fetches_total{result="ok"} 1`,
		`authorizer_decision_duration_seconds_count 3`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the metrics lack %s", want)
		}
	}
}
