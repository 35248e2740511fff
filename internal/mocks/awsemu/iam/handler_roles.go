package iam

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// Role actions. Each authorizes iam:<Action> on the role's ARN (arn:aws:iam::<acct>:role<path><name>;
// with the default path "/" when the role does not exist yet or at all), except ListRoles,
// which has no resource type and is authorized on "*".

type xmlBoundary struct {
	PermissionsBoundaryType string
	PermissionsBoundaryArn  string
}

// xmlRole is types.Role. AssumeRolePolicyDocument is URL-encoded, as IAM returns it.
type xmlRole struct {
	Path                     string
	RoleName                 string
	RoleId                   string //nolint:revive // IAM's element name
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string           `xml:",omitempty"`
	Description              string           `xml:",omitempty"`
	MaxSessionDuration       int              `xml:",omitempty"`
	PermissionsBoundary      *xmlBoundary     `xml:",omitempty"`
	Tags                     *members[xmlTag] `xml:",omitempty"`
	RoleLastUsed             *xmlRoleLastUsed `xml:",omitempty"`
}

// xmlRoleLastUsed is types.RoleLastUsed: an empty element for a role never used.
type xmlRoleLastUsed struct {
	LastUsedDate string `xml:",omitempty"`
	Region       string `xml:",omitempty"`
}

// roleView is which Role shape an operation returns; on AWS they differ.
type roleView int

const (
	// roleCreated (CreateRole): no MaxSessionDuration, no RoleLastUsed (CreateRole API reference).
	roleCreated roleView = iota
	// roleFull (GetRole): everything, RoleLastUsed included even when empty.
	roleFull
	// roleListed (ListRoles): "does not return PermissionsBoundary, RoleLastUsed, Tags".
	roleListed
)

// toXMLRole renders a role as the operation behind view returns it.
func toXMLRole(r *Role, view roleView) xmlRole {
	x := xmlRole{Path: r.Path, RoleName: r.Name, RoleId: r.ID, Arn: r.ARN, CreateDate: isoTime(r.Created),
		Description: r.Description}
	if view != roleCreated {
		x.MaxSessionDuration = r.MaxSessionDuration
	}
	if r.TrustPolicy != nil {
		x.AssumeRolePolicyDocument = urlEncode(string(r.TrustPolicy.Document()))
	}
	if view == roleListed {
		return x
	}
	if r.BoundaryARN != "" {
		x.PermissionsBoundary = &xmlBoundary{"PermissionsBoundaryPolicy", r.BoundaryARN}
	}
	if len(r.Tags) > 0 {
		x.Tags = &members[xmlTag]{xmlTags(sortedTags(r.Tags))}
	}
	if view == roleFull {
		x.RoleLastUsed = &xmlRoleLastUsed{}
		if !r.LastUsed.IsZero() {
			x.RoleLastUsed = &xmlRoleLastUsed{LastUsedDate: isoTime(r.LastUsed), Region: r.LastUsedRegion}
		}
	}
	return x
}

// sortedTags orders tags by key, as IAM lists them (ListRoleTags, GetRole). AWS does not
// document the order; sorted is what moto, built against AWS, returns, and the one order that
// stays stable as TagRole adds and replaces tags.
func sortedTags(tags []Tag) []Tag {
	out := append([]Tag(nil), tags...)
	key := func(t Tag) string { return strings.ToLower(t.Key) }
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

type trailBoundary struct {
	PermissionsBoundaryType string `json:"permissionsBoundaryType"`
	PermissionsBoundaryArn  string `json:"permissionsBoundaryArn"`
}

type trailRole struct {
	Path                     string         `json:"path"`
	RoleName                 string         `json:"roleName"`
	RoleID                   string         `json:"roleId"`
	Arn                      string         `json:"arn"`
	CreateDate               string         `json:"createDate"`
	AssumeRolePolicyDocument string         `json:"assumeRolePolicyDocument,omitempty"`
	Description              string         `json:"description,omitempty"`
	MaxSessionDuration       int            `json:"maxSessionDuration,omitempty"`
	PermissionsBoundary      *trailBoundary `json:"permissionsBoundary,omitempty"`
	Tags                     []trailTag     `json:"tags,omitempty"`
}

func toTrailRole(r *Role) trailRole {
	t := trailRole{Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN, CreateDate: trailTime(r.Created),
		Description: r.Description, MaxSessionDuration: r.MaxSessionDuration}
	if r.TrustPolicy != nil {
		t.AssumeRolePolicyDocument = urlEncode(string(r.TrustPolicy.Document()))
	}
	if r.BoundaryARN != "" {
		t.PermissionsBoundary = &trailBoundary{"PermissionsBoundaryPolicy", r.BoundaryARN}
	}
	if len(r.Tags) > 0 {
		t.Tags = trailTags(r.Tags)
	}
	return t
}

type roleResult struct {
	Role xmlRole
}

func (h *Handler) createRole(c *Call) (any, error) {
	p := c.Params
	roleName, err := entityName(p, "RoleName", 64)
	if err != nil {
		return nil, err
	}
	doc, err := document(p, "AssumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	path, pathGiven := p.Get("Path")
	desc, descGiven := p.Get("Description")
	msd, msdGiven, err := p.Int("MaxSessionDuration")
	if err != nil {
		return nil, err
	}
	boundary, err := arnParam(p, "PermissionsBoundary", false)
	if err != nil {
		return nil, err
	}
	tags, err := readTags(p, "Tags")
	if err != nil {
		return nil, err
	}
	if err := p.CheckUnknown(); err != nil {
		return nil, err
	}
	if !pathGiven {
		path = "/"
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if msdGiven && (msd < 3600 || msd > 43200) {
		return nil, query.Constraint("MaxSessionDuration", strconv.Itoa(msd), "Member must have value between 3600 and 43200")
	}
	acct := c.Caller.Account
	arn := "arn:aws:iam::" + acct + ":role" + path + roleName
	c.SetTrail(struct {
		RoleName                 string     `json:"roleName"`
		Path                     string     `json:"path,omitempty"`
		AssumeRolePolicyDocument string     `json:"assumeRolePolicyDocument"`
		Description              *string    `json:"description,omitempty"`
		MaxSessionDuration       int        `json:"maxSessionDuration,omitempty"`
		PermissionsBoundary      string     `json:"permissionsBoundary,omitempty"`
		Tags                     []trailTag `json:"tags,omitempty"`
	}{roleName, optionalString(path, pathGiven), doc, optionalPtr(desc, descGiven), msd, boundary, trailTags(tags)}, nil)
	if err := h.authorize(c, "iam:CreateRole", arn, func(r *iampolicy.Request) {
		requestTags(r, tags)
		if boundary != "" {
			r.Context.Set("iam:PermissionsBoundary", boundary)
		}
	}); err != nil {
		return nil, err
	}
	role, err := h.store.CreateRole(acct, RoleInput{Name: roleName, Path: path, TrustPolicy: doc, Description: desc,
		MaxSessionDuration: msd, Tags: tags, BoundaryARN: boundary})
	if err != nil {
		return nil, err
	}
	c.SetTrail(nil, struct {
		Role trailRole `json:"role"`
	}{toTrailRole(role)})
	c.Trail.Resources = roleResource(role)
	return roleResult{toXMLRole(role, roleCreated)}, nil
}

func optionalString(v string, given bool) string {
	if given {
		return v
	}
	return ""
}

func optionalPtr(v string, given bool) *string {
	if given {
		return &v
	}
	return nil
}

// roleRead authorizes a read-only action on the role named by RoleName and returns the role.
func (h *Handler) roleRead(c *Call, action string) (*Role, map[string]string, error) {
	roleName, err := entityName(c.Params, "RoleName", 64)
	if err != nil {
		return nil, nil, err
	}
	return h.roleAction(c, action, roleName, nil)
}

// roleAction finishes reading parameters, records the trail, authorizes action on the role and
// returns it (NoSuchEntity when it does not exist, after authorization, as IAM orders them).
func (h *Handler) roleAction(c *Call, action, roleName string, vals map[string]string, extra ...func(*iampolicy.Request)) (*Role, map[string]string, error) {
	if err := c.Params.CheckUnknown(); err != nil {
		return nil, nil, err
	}
	params := map[string]any{"roleName": roleName}
	for k, v := range vals {
		params[lowerFirst(k)] = v
	}
	c.SetTrail(params, nil)
	acct := c.Caller.Account
	arn, role := h.roleTarget(acct, roleName)
	if err := h.authorize(c, "iam:"+action, arn, all(append([]func(*iampolicy.Request){roleKeys(role, "iam:"+action)}, extra...)...)); err != nil {
		return nil, nil, err
	}
	if role == nil {
		_, err := h.store.GetRole(acct, roleName)
		return nil, nil, err
	}
	c.Trail.Resources = roleResource(role)
	return role, vals, nil
}

func (h *Handler) getRole(c *Call) (any, error) {
	role, _, err := h.roleRead(c, "GetRole")
	if err != nil {
		return nil, err
	}
	return roleResult{toXMLRole(role, roleFull)}, nil
}

var pathPrefixRe = regexp.MustCompile(`^\x{002F}[\x{0021}-\x{007F}]*$`)

func pathPrefix(p *query.Params) (string, error) {
	v, ok := p.Get("PathPrefix")
	if !ok {
		return "/", nil
	}
	if len(v) > 512 || !pathPrefixRe.MatchString(v) {
		return "", query.Constraint("PathPrefix", v, "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*")
	}
	return v, nil
}

type listRolesResult struct {
	Roles       members[xmlRole]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (h *Handler) listRoles(c *Call) (any, error) {
	p := c.Params
	prefix, err := pathPrefix(p)
	if err != nil {
		return nil, err
	}
	pr, err := readPage(p)
	if err != nil {
		return nil, err
	}
	if err := p.CheckUnknown(); err != nil {
		return nil, err
	}
	params := map[string]any{}
	if v, ok := p.Get("PathPrefix"); ok {
		params["pathPrefix"] = v
	}
	if pr.max != 100 {
		params["maxItems"] = pr.max
	}
	c.SetTrail(params, nil)
	if err := h.authorize(c, "iam:ListRoles", "*", nil); err != nil {
		return nil, err
	}
	roles, err := h.store.ListRoles(c.Caller.Account, prefix)
	if err != nil {
		return nil, err
	}
	page, truncated, marker := paginate(pr, roles, func(r *Role) string { return r.Name })
	out := listRolesResult{IsTruncated: truncated, Marker: marker, Roles: members[xmlRole]{Member: []xmlRole{}}}
	for _, r := range page {
		out.Roles.Member = append(out.Roles.Member, toXMLRole(r, roleListed))
	}
	return out, nil
}

// roleWrite reads RoleName plus the named required parameters (documents are validated as
// documents), and authorizes action on the role.
func (h *Handler) roleWrite(c *Call, action string, docs []string, others []string, extra ...func(*iampolicy.Request)) (*Role, map[string]string, error) {
	p := c.Params
	roleName, err := entityName(p, "RoleName", 64)
	if err != nil {
		return nil, nil, err
	}
	vals := map[string]string{}
	for _, o := range others {
		if o == "PolicyName" {
			vals[o], err = entityName(p, o, 128)
		} else if o == "PolicyArn" {
			vals[o], err = arnParam(p, o, true)
		} else {
			vals[o], err = p.Required(o)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	for _, d := range docs {
		if vals[d], err = document(p, d); err != nil {
			return nil, nil, err
		}
	}
	return h.roleAction(c, action, roleName, vals, extra...)
}

func (h *Handler) deleteRole(c *Call) (any, error) {
	role, _, err := h.roleWrite(c, "DeleteRole", nil, nil)
	if err != nil {
		return nil, err
	}
	return nil, h.store.DeleteRole(role.Account, role.Name)
}

func (h *Handler) updateAssumeRolePolicy(c *Call) (any, error) {
	role, v, err := h.roleWrite(c, "UpdateAssumeRolePolicy", []string{"PolicyDocument"}, nil)
	if err != nil {
		return nil, err
	}
	return nil, h.store.UpdateAssumeRolePolicy(role.Account, role.Name, v["PolicyDocument"])
}

func (h *Handler) putRolePolicy(c *Call) (any, error) {
	role, v, err := h.roleWrite(c, "PutRolePolicy", []string{"PolicyDocument"}, []string{"PolicyName"})
	if err != nil {
		return nil, err
	}
	return nil, h.store.PutRolePolicy(role.Account, role.Name, v["PolicyName"], v["PolicyDocument"])
}

type getRolePolicyResult struct {
	RoleName       string
	PolicyName     string
	PolicyDocument string
}

func (h *Handler) getRolePolicy(c *Call) (any, error) {
	p := c.Params
	roleName, err := entityName(p, "RoleName", 64)
	if err != nil {
		return nil, err
	}
	policyName, err := entityName(p, "PolicyName", 128)
	if err != nil {
		return nil, err
	}
	role, _, err := h.roleAction(c, "GetRolePolicy", roleName, map[string]string{"PolicyName": policyName})
	if err != nil {
		return nil, err
	}
	doc, err := h.store.GetRolePolicy(role.Account, role.Name, policyName)
	if err != nil {
		return nil, err
	}
	return getRolePolicyResult{RoleName: role.Name, PolicyName: policyName, PolicyDocument: urlEncode(doc)}, nil
}

func (h *Handler) deleteRolePolicy(c *Call) (any, error) {
	role, v, err := h.roleWrite(c, "DeleteRolePolicy", nil, []string{"PolicyName"})
	if err != nil {
		return nil, err
	}
	return nil, h.store.DeleteRolePolicy(role.Account, role.Name, v["PolicyName"])
}

type listRolePoliciesResult struct {
	PolicyNames members[string]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (h *Handler) listRolePolicies(c *Call) (any, error) {
	p := c.Params
	roleName, err := entityName(p, "RoleName", 64)
	if err != nil {
		return nil, err
	}
	pr, err := readPage(p)
	if err != nil {
		return nil, err
	}
	role, _, err := h.roleAction(c, "ListRolePolicies", roleName, nil)
	if err != nil {
		return nil, err
	}
	names, err := h.store.ListRolePolicies(role.Account, role.Name)
	if err != nil {
		return nil, err
	}
	page, truncated, marker := paginate(pr, names, func(s string) string { return s })
	return listRolePoliciesResult{PolicyNames: members[string]{append([]string{}, page...)}, IsTruncated: truncated, Marker: marker}, nil
}

func policyARNKey(arn string) func(*iampolicy.Request) {
	return func(r *iampolicy.Request) { r.Context.Set("iam:PolicyARN", arn) }
}

func (h *Handler) attachRolePolicy(c *Call) (any, error) {
	arn, _ := c.Params.Get("PolicyArn")
	role, v, err := h.roleWrite(c, "AttachRolePolicy", nil, []string{"PolicyArn"}, policyARNKey(arn))
	if err != nil {
		return nil, err
	}
	return nil, h.store.AttachRolePolicy(role.Account, role.Name, v["PolicyArn"])
}

func (h *Handler) detachRolePolicy(c *Call) (any, error) {
	arn, _ := c.Params.Get("PolicyArn")
	role, v, err := h.roleWrite(c, "DetachRolePolicy", nil, []string{"PolicyArn"}, policyARNKey(arn))
	if err != nil {
		return nil, err
	}
	return nil, h.store.DetachRolePolicy(role.Account, role.Name, v["PolicyArn"])
}

type xmlAttachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

type listAttachedResult struct {
	AttachedPolicies members[xmlAttachedPolicy]
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

func (h *Handler) listAttachedRolePolicies(c *Call) (any, error) {
	p := c.Params
	roleName, err := entityName(p, "RoleName", 64)
	if err != nil {
		return nil, err
	}
	prefix, err := pathPrefix(p)
	if err != nil {
		return nil, err
	}
	pr, err := readPage(p)
	if err != nil {
		return nil, err
	}
	role, _, err := h.roleAction(c, "ListAttachedRolePolicies", roleName, nil)
	if err != nil {
		return nil, err
	}
	mps, err := h.store.ListAttachedRolePolicies(role.Account, role.Name)
	if err != nil {
		return nil, err
	}
	return attachedPage(pr, prefix, mps), nil
}

// attachedPage is one page of attached managed policies under a path prefix, ordered by name.
func attachedPage(pr pageRequest, prefix string, mps []*ManagedPolicy) listAttachedResult {
	var kept []*ManagedPolicy
	for _, mp := range mps {
		if strings.HasPrefix(mp.Path, prefix) {
			kept = append(kept, mp)
		}
	}
	key := func(mp *ManagedPolicy) string { return mp.Name + "\x00" + mp.ARN }
	sort.Slice(kept, func(i, j int) bool { return key(kept[i]) < key(kept[j]) })
	page, truncated, marker := paginate(pr, kept, key)
	out := listAttachedResult{AttachedPolicies: members[xmlAttachedPolicy]{[]xmlAttachedPolicy{}}, IsTruncated: truncated, Marker: marker}
	for _, mp := range page {
		out.AttachedPolicies.Member = append(out.AttachedPolicies.Member, xmlAttachedPolicy{mp.Name, mp.ARN})
	}
	return out
}

func (h *Handler) tagRole(c *Call) (any, error) {
	p := c.Params
	roleName, err := entityName(p, "RoleName", 64)
	if err != nil {
		return nil, err
	}
	tags, err := readTags(p, "Tags")
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, awserr.Validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	role, _, err := h.roleAction(c, "TagRole", roleName, nil, func(r *iampolicy.Request) { requestTags(r, tags) })
	if err != nil {
		return nil, err
	}
	c.SetTrail(map[string]any{"roleName": roleName, "tags": trailTags(tags)}, nil)
	return nil, h.store.TagRole(role.Account, role.Name, tags)
}

func (h *Handler) untagRole(c *Call) (any, error) {
	p := c.Params
	roleName, err := entityName(p, "RoleName", 64)
	if err != nil {
		return nil, err
	}
	keys, err := p.List("TagKeys")
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, awserr.Validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	if len(keys) > MaxTagsPerEntity {
		return nil, awserr.Validation("1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to %d", MaxTagsPerEntity)
	}
	for _, k := range keys {
		if len(k) < 1 || len(k) > 128 || !tagCharsRe.MatchString(k) {
			return nil, query.Constraint("TagKeys.member", k, "Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+")
		}
	}
	role, _, err := h.roleAction(c, "UntagRole", roleName, nil, func(r *iampolicy.Request) { r.Context.Set("aws:TagKeys", keys...) })
	if err != nil {
		return nil, err
	}
	c.SetTrail(map[string]any{"roleName": roleName, "tagKeys": keys}, nil)
	return nil, h.store.UntagRole(role.Account, role.Name, keys)
}

type listTagsResult struct {
	Tags        members[xmlTag]
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (h *Handler) listRoleTags(c *Call) (any, error) {
	p := c.Params
	roleName, err := entityName(p, "RoleName", 64)
	if err != nil {
		return nil, err
	}
	pr, err := readPage(p)
	if err != nil {
		return nil, err
	}
	role, _, err := h.roleAction(c, "ListRoleTags", roleName, nil)
	if err != nil {
		return nil, err
	}
	tags := append([]Tag(nil), role.Tags...)
	key := func(t Tag) string { return strings.ToLower(t.Key) }
	sort.Slice(tags, func(i, j int) bool { return key(tags[i]) < key(tags[j]) })
	page, truncated, marker := paginate(pr, tags, key)
	out := listTagsResult{Tags: members[xmlTag]{[]xmlTag{}}, IsTruncated: truncated, Marker: marker}
	for _, t := range page {
		out.Tags.Member = append(out.Tags.Member, xmlTag(t))
	}
	return out, nil
}
