package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
)

// The headers API Gateway forwards once the authorizer has decided who the caller is. They are
// the server's only source of identity; the bearer token is the authorizer's business.
const (
	HeaderDecidedRole    = "X-Decided-Role"
	HeaderSourceIdentity = "X-Source-Identity"
	HeaderSessionTags    = "X-Session-Tags"
)

// TenantTag is the session tag the tenant policies compare with a bucket's tenant.
const TenantTag = "tenant"

var (
	roleARN        = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
	sourceIdentity = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// caller is what the gateway decided about one request.
type caller struct {
	Role, SourceIdentity, Tenant string
	Tags                         map[string]string
}

// decided reads the decided headers, each exactly once; any problem refuses the request.
func decided(h http.Header) (caller, error) {
	one := func(name string) (string, error) {
		switch v := h.Values(name); len(v) {
		case 1:
			return v[0], nil
		case 0:
			return "", fmt.Errorf("header %s is missing", name)
		default:
			return "", fmt.Errorf("header %s appears %d times", name, len(v))
		}
	}
	var c caller
	var errs []error
	var err error
	if c.Role, err = one(HeaderDecidedRole); err == nil && !roleARN.MatchString(c.Role) {
		err = fmt.Errorf("header %s is not an IAM role ARN", HeaderDecidedRole)
	}
	errs = append(errs, err)
	if c.SourceIdentity, err = one(HeaderSourceIdentity); err == nil && !sourceIdentity.MatchString(c.SourceIdentity) {
		err = fmt.Errorf("header %s breaks STS's SourceIdentity rule", HeaderSourceIdentity)
	}
	errs = append(errs, err)
	raw, err := one(HeaderSessionTags)
	if err == nil {
		c.Tags, err = parseTags(raw)
	}
	if err == nil && c.Tags[TenantTag] == "" {
		err = fmt.Errorf("header %s has no %s tag", HeaderSessionTags, TenantTag)
	}
	c.Tenant = c.Tags[TenantTag]
	errs = append(errs, err)
	return c, errors.Join(errs...)
}

// parseTags reads STS's list form [{"Key":"tenant","Value":"acme"}] or the object form.
func parseTags(raw string) (map[string]string, error) {
	var list []struct{ Key, Value string }
	if err := json.Unmarshal([]byte(raw), &list); err == nil {
		tags := map[string]string{}
		for _, t := range list {
			if _, dup := tags[t.Key]; dup || t.Key == "" {
				return nil, fmt.Errorf("header %s: empty or repeated tag key %q", HeaderSessionTags, t.Key)
			}
			tags[t.Key] = t.Value
		}
		return tags, nil
	}
	var obj map[string]string
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, fmt.Errorf("header %s is not a JSON tag list or object", HeaderSessionTags)
	}
	return obj, nil
}
