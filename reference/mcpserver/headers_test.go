package mcpserver

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestParseIdentityAcceptsTheGatewayForms(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tags       string
		limits     *string
		wantTags   []Tag
		wantLimits Limits
	}{
		{"the list form STS takes is accepted", `[{"Key":"tenant","Value":"acme"}]`, nil,
			[]Tag{{"tenant", "acme"}}, Limits{SessionSeconds: 900}},
		{"the object form is accepted", `{"tenant":"acme","team":"data eng"}`, nil,
			[]Tag{{"tenant", "acme"}, {"team", "data eng"}}, Limits{SessionSeconds: 900}},
		{"an empty tag value is accepted", `[{"Value":"","Key":"cost-center"},{"Key":"tenant","Value":"acme"}]`, nil,
			[]Tag{{"cost-center", ""}, {"tenant", "acme"}}, Limits{SessionSeconds: 900}},
		{"limits with both fields are applied", `{"tenant":"acme"}`, ptr(`{"requestsPerMinute":60,"sessionSeconds":3600}`),
			[]Tag{{"tenant", "acme"}}, Limits{RequestsPerMinute: 60, SessionSeconds: 3600}},
		{"empty limits keep the defaults", `{"tenant":"acme"}`, ptr(` {} `),
			[]Tag{{"tenant", "acme"}}, Limits{SessionSeconds: 900}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("x-decided-role", "arn:aws:iam::111122223333:role/quilt-mcp-target-acme")
			h.Set("x-source-identity", "usr-00u8c2d9qkL4mT7xw5d7")
			h.Set("x-session-tags", tc.tags)
			if tc.limits != nil {
				h.Set("x-limits", *tc.limits)
			}
			id, err := ParseIdentity(h)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(id.Tags, tc.wantTags) || id.Tenant != "acme" || id.Limits != tc.wantLimits {
				t.Fatalf("got %+v", id)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestRoleARNRules(t *testing.T) {
	for _, tc := range []struct {
		arn string
		ok  bool
	}{
		{"arn:aws:iam::111122223333:role/quilt-mcp-target-acme", true},
		{"arn:aws:iam::111122223333:role/service/tenants/quilt-mcp-target-acme", true},
		{"arn:aws-us-gov:iam::111122223333:role/r1", true},
		{"arn:aws:iam::111122223333:user/admin", false},
		{"arn:aws:sts::111122223333:assumed-role/r/s", false},
		{"arn:aws:iam::1111:role/r", false},
		{"arn:aws:iam::111122223333:role/", false},
		{"arn:aws:iam::111122223333:role/" + strings.Repeat("r", 65), false},
		{"arn:aws:iam::111122223333:role/r x", false},
		{"arn:evil:iam::111122223333:role/r", false},
	} {
		if _, err := parseRoleARN(tc.arn); (err == nil) != tc.ok {
			t.Errorf("parseRoleARN(%q) = %v, want ok=%v", tc.arn, err, tc.ok)
		}
	}
}

func TestSessionTagRulesFollowSTS(t *testing.T) {
	many := `{"tenant":"acme"`
	for i := range 50 {
		many += `,"k` + string(rune('A'+i%26)) + strings.Repeat("x", i/26) + `":"v"`
	}
	many += "}"
	for _, tc := range []struct {
		name, tags, want string
	}{
		{"a key starting with aws: is refused", `{"tenant":"acme","aws:PrincipalTag":"x"}`, "must not start with aws:"},
		{"more than fifty tags are refused", many, "at most 50"},
		{"a value over 256 characters is refused", `{"tenant":"acme","k":"` + strings.Repeat("v", 257) + `"}`, "0-256"},
		{"a key over 128 characters is refused", `{"tenant":"acme","` + strings.Repeat("k", 129) + `":"v"}`, "1-128"},
		{"an empty key is refused", `{"tenant":"acme","":"v"}`, "1-128"},
		{"a value with a character STS refuses is refused", `{"tenant":"acme","k":"a*b"}`, "0-256"},
		{"a lower-case key field in the list form is refused", `[{"key":"tenant","value":"acme"}]`, `"key" is not allowed`},
		{"a numeric value is refused", `{"tenant":1}`, "must be a JSON string"},
		{"a null value is refused", `{"tenant":null}`, "must be a JSON string"},
		{"a nested object is refused", `{"tenant":{"v":"acme"}}`, "must be a JSON string"},
		{"data after the JSON is refused", `{"tenant":"acme"}{"tenant":"globex"}`, "not valid JSON"},
		{"an empty list is refused", `[]`, "no tags"},
		{"a list element without Value is refused", `[{"Key":"tenant"}]`, `both "Key" and "Value"`},
		{"a field repeated in a list element is refused", `[{"Key":"tenant","Value":"globex","Value":"acme"}]`, "appears twice"},
		{"a tenant in upper case is refused", `{"tenant":"Acme"}`, "lower-case"},
		{"a tenant of 41 characters is refused", `{"tenant":"` + strings.Repeat("a", 41) + `"}`, "1-40"},
		{"a tenant ending in a hyphen is refused", `{"tenant":"acme-"}`, "inner hyphens"},
		{"a string is refused", `"tenant=acme"`, "list"},
		{"invalid UTF-8 is refused", "{\"tenant\":\"ac\xffme\"}", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := parseSessionTags(tc.tags); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLimitsAreDecodedStrictly(t *testing.T) {
	for _, tc := range []struct {
		name, limits, want string
	}{
		{"a zero rate is refused (omit the field for no limit)", `{"requestsPerMinute":0}`, "omit the field"},
		{"a negative rate is refused", `{"requestsPerMinute":-1}`, "whole number"},
		{"a rate as a string is refused", `{"requestsPerMinute":"60"}`, "whole number"},
		{"a rate with an exponent is refused", `{"requestsPerMinute":6e1}`, "whole number"},
		{"a rate with a leading zero is refused", `{"requestsPerMinute":060}`, "not valid JSON"},
		{"a session shorter than 900 seconds is refused", `{"sessionSeconds":899}`, "900 to 43200"},
		{"a field given twice is refused", `{"sessionSeconds":900,"sessionSeconds":3600}`, "appears twice"},
		{"a field in other case is refused", `{"SessionSeconds":900}`, "unknown"},
		{"a list is refused", `[60]`, "JSON object"},
		{"null is refused", `null`, "JSON object"},
		{"data after the object is refused", `{} 1`, "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseLimits(tc.limits); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestHeaderErrorsNameTheHeaderAndTheProblem(t *testing.T) {
	_, err := ParseIdentity(http.Header{"X-Source-Identity": {"usr-a", "usr-b"}})
	var he *HeaderError
	if !errors.As(err, &he) {
		t.Fatalf("%v is not a *HeaderError", err)
	}
	msg := err.Error()
	for _, want := range []string{"header x-decided-role is missing", "header x-source-identity is malformed: appears 2 times", "header x-session-tags is missing"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
}

func TestSessionNameIsTheSourceIdentityWhenValid(t *testing.T) {
	for in, want := range map[string]string{
		"usr-00u8c2d9":          "usr-00u8c2d9",
		"a":                     "a-",
		"auth0|x":               "auth0-x",
		strings.Repeat("u", 70): strings.Repeat("u", 64),
	} {
		if got := sessionName(in); got != want {
			t.Errorf("sessionName(%q) = %q, want %q", in, got, want)
		}
	}
}
