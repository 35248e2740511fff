package iam

import (
	"net/http"
	"regexp"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/query"
)

// Managed-policy and user actions. Policy actions are authorized on the policy's ARN
// (arn:aws:iam::<acct>:policy<path><name>), user actions on the user's ARN.

// xmlPolicy is types.Policy. The emulator keeps one version per policy, v1.
type xmlPolicy struct {
	PolicyName                    string
	PolicyId                      string //nolint:revive // IAM's element name
	Arn                           string
	Path                          string
	DefaultVersionId              string //nolint:revive // IAM's element name
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    string
	UpdateDate                    string
	Tags                          *members[xmlTag] `xml:",omitempty"`
}

func (h *Handler) toXMLPolicy(mp *ManagedPolicy) xmlPolicy {
	x := xmlPolicy{PolicyName: mp.Name, PolicyId: mp.ID, Arn: mp.ARN, Path: mp.Path, DefaultVersionId: "v1",
		AttachmentCount: mp.Attachments, PermissionsBoundaryUsageCount: h.store.BoundaryUsage(mp.ARN), IsAttachable: true,
		Description: mp.Description, CreateDate: isoTime(mp.Created), UpdateDate: isoTime(mp.Created)}
	if len(mp.Tags) > 0 {
		x.Tags = &members[xmlTag]{xmlTags(mp.Tags)}
	}
	return x
}

type trailPolicy struct {
	PolicyName                    string     `json:"policyName"`
	PolicyID                      string     `json:"policyId"`
	Arn                           string     `json:"arn"`
	Path                          string     `json:"path"`
	DefaultVersionID              string     `json:"defaultVersionId"`
	AttachmentCount               int        `json:"attachmentCount"`
	PermissionsBoundaryUsageCount int        `json:"permissionsBoundaryUsageCount"`
	IsAttachable                  bool       `json:"isAttachable"`
	CreateDate                    string     `json:"createDate"`
	UpdateDate                    string     `json:"updateDate"`
	Tags                          []trailTag `json:"tags,omitempty"`
}

type policyResult struct {
	Policy xmlPolicy
}

var descriptionRe = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{00A1}-\x{00FF}]*$`)

func (h *Handler) createPolicy(c *Call) (any, error) {
	p := c.Params
	policyName, err := entityName(p, "PolicyName", 128)
	if err != nil {
		return nil, err
	}
	doc, err := document(p, "PolicyDocument")
	if err != nil {
		return nil, err
	}
	path, pathGiven := p.Get("Path")
	desc, descGiven := p.Get("Description")
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
	if len([]rune(desc)) > 1000 || !descriptionRe.MatchString(desc) {
		return nil, query.Constraint("Description", abbreviate(desc), "Member must have length less than or equal to 1000 and satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*")
	}
	acct := c.Caller.Account
	arn := "arn:aws:iam::" + acct + ":policy" + path + policyName
	c.SetTrail(struct {
		PolicyName     string     `json:"policyName"`
		Path           string     `json:"path,omitempty"`
		PolicyDocument string     `json:"policyDocument"`
		Description    *string    `json:"description,omitempty"`
		Tags           []trailTag `json:"tags,omitempty"`
	}{policyName, optionalString(path, pathGiven), doc, optionalPtr(desc, descGiven), trailTags(tags)}, nil)
	if err := h.authorize(c, "iam:CreatePolicy", arn, func(r *iampolicy.Request) { requestTags(r, tags) }); err != nil {
		return nil, err
	}
	mp, err := h.store.CreatePolicyWithTags(acct, policyName, path, doc, desc, tags)
	if err != nil {
		return nil, err
	}
	c.SetTrail(nil, struct {
		Policy trailPolicy `json:"policy"`
	}{trailPolicy{PolicyName: mp.Name, PolicyID: mp.ID, Arn: mp.ARN, Path: mp.Path, DefaultVersionID: "v1", IsAttachable: true,
		CreateDate: trailTime(mp.Created), UpdateDate: trailTime(mp.Created), Tags: trailTags(mp.Tags)}})
	c.Trail.Resources = trailResource(acct, "AWS::IAM::Policy", mp.ARN)
	return policyResult{h.toXMLPolicy(mp)}, nil
}

// policyAction reads PolicyArn (and the named required parameters), records the trail and
// authorizes action on the policy; the policy is nil when it does not exist.
func (h *Handler) policyAction(c *Call, action string, others ...string) (string, *ManagedPolicy, map[string]string, error) {
	p := c.Params
	arn, err := arnParam(p, "PolicyArn", true)
	if err != nil {
		return "", nil, nil, err
	}
	vals := map[string]string{}
	params := map[string]any{"policyArn": arn}
	for _, o := range others {
		if vals[o], err = p.Required(o); err != nil {
			return "", nil, nil, err
		}
		params[lowerFirst(o)] = vals[o]
	}
	if err := p.CheckUnknown(); err != nil {
		return "", nil, nil, err
	}
	c.SetTrail(params, nil)
	mp, _ := h.store.GetPolicy(arn)
	set := func(r *iampolicy.Request) {
		if mp != nil {
			for _, t := range mp.Tags {
				r.Context.Set("aws:ResourceTag/"+t.Key, t.Value)
			}
		}
	}
	if err := h.authorize(c, "iam:"+action, arn, set); err != nil {
		return "", nil, nil, err
	}
	if mp == nil {
		_, err := h.store.GetPolicy(arn)
		return "", nil, nil, err
	}
	c.Trail.Resources = trailResource(mp.Account, "AWS::IAM::Policy", mp.ARN)
	return arn, mp, vals, nil
}

func (h *Handler) getPolicy(c *Call) (any, error) {
	_, mp, _, err := h.policyAction(c, "GetPolicy")
	if err != nil {
		return nil, err
	}
	return policyResult{h.toXMLPolicy(mp)}, nil
}

type xmlPolicyVersion struct {
	Document         string
	VersionId        string //nolint:revive // IAM's element name
	IsDefaultVersion bool
	CreateDate       string
}

var versionIDRe = regexp.MustCompile(`^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$`)

func (h *Handler) getPolicyVersion(c *Call) (any, error) {
	if v, ok := c.Params.Get("VersionId"); ok && !versionIDRe.MatchString(v) {
		return nil, query.Constraint("VersionId", v, "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?")
	}
	arn, mp, vals, err := h.policyAction(c, "GetPolicyVersion", "VersionId")
	if err != nil {
		return nil, err
	}
	if vals["VersionId"] != "v1" {
		return nil, awserr.New(http.StatusNotFound, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", arn, vals["VersionId"])
	}
	return struct{ PolicyVersion xmlPolicyVersion }{xmlPolicyVersion{Document: urlEncode(string(mp.Document.Document())),
		VersionId: "v1", IsDefaultVersion: true, CreateDate: isoTime(mp.Created)}}, nil
}

func (h *Handler) deletePolicy(c *Call) (any, error) {
	arn, _, _, err := h.policyAction(c, "DeletePolicy")
	if err != nil {
		return nil, err
	}
	// IAM refuses to delete a policy still in use, as a permissions boundary included.
	if h.store.BoundaryUsage(arn) > 0 {
		return nil, awserr.New(http.StatusConflict, "DeleteConflict", "Cannot delete a policy attached to entities.")
	}
	return nil, h.store.DeletePolicy(arn)
}

// xmlUser is types.User.
type xmlUser struct {
	Path       string
	UserName   string
	UserId     string //nolint:revive // IAM's element name
	Arn        string
	CreateDate string
	Tags       *members[xmlTag] `xml:",omitempty"`
}

func toXMLUser(u *User) xmlUser {
	x := xmlUser{Path: u.Path, UserName: u.Name, UserId: u.ID, Arn: u.ARN, CreateDate: isoTime(u.Created)}
	if len(u.Tags) > 0 {
		x.Tags = &members[xmlTag]{xmlTags(u.Tags)}
	}
	return x
}

type userResult struct {
	User xmlUser
}

func (h *Handler) createUser(c *Call) (any, error) {
	p := c.Params
	userName, err := entityName(p, "UserName", 64)
	if err != nil {
		return nil, err
	}
	path, pathGiven := p.Get("Path")
	tags, err := readTags(p, "Tags")
	if err != nil {
		return nil, err
	}
	if _, ok := p.Get("PermissionsBoundary"); ok {
		// A boundary the caller resolution would not apply would fail open.
		return nil, unsupported("CreateUser", "PermissionsBoundary", "permissions boundaries are supported on roles only")
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
	acct := c.Caller.Account
	arn := "arn:aws:iam::" + acct + ":user" + path + userName
	c.SetTrail(struct {
		UserName string     `json:"userName"`
		Path     string     `json:"path,omitempty"`
		Tags     []trailTag `json:"tags,omitempty"`
	}{userName, optionalString(path, pathGiven), trailTags(tags)}, nil)
	if err := h.authorize(c, "iam:CreateUser", arn, func(r *iampolicy.Request) { requestTags(r, tags) }); err != nil {
		return nil, err
	}
	u, err := h.store.CreateUser(acct, userName, path, tags)
	if err != nil {
		return nil, err
	}
	c.SetTrail(nil, map[string]any{"user": map[string]any{"path": u.Path, "userName": u.Name, "userId": u.ID, "arn": u.ARN,
		"createDate": trailTime(u.Created), "tags": trailTags(u.Tags)}})
	c.Trail.Resources = trailResource(acct, "AWS::IAM::User", u.ARN)
	return userResult{toXMLUser(u)}, nil
}

// userAction resolves the user an action is about: UserName, or when it is absent (GetUser,
// CreateAccessKey) the calling user. It records the trail and authorizes action on the user.
func (h *Handler) userAction(c *Call, action string, implicit bool, docs []string, others ...string) (*User, map[string]string, error) {
	return h.userActionWith(c, action, implicit, docs, others, nil)
}

// userActionWith is userAction with extra condition keys set on the request (extra may be nil).
func (h *Handler) userActionWith(c *Call, action string, implicit bool, docs []string, others []string, extra func(*iampolicy.Request)) (*User, map[string]string, error) {
	p := c.Params
	userName, given := p.Get("UserName")
	var err error
	if given || !implicit {
		if userName, err = entityName(p, "UserName", 128); err != nil {
			return nil, nil, err
		}
	}
	vals := map[string]string{}
	params := map[string]any{}
	if given {
		params["userName"] = userName
	}
	for _, o := range others {
		if vals[o], err = entityName(p, o, 128); err != nil {
			return nil, nil, err
		}
		params[lowerFirst(o)] = vals[o]
	}
	for _, d := range docs {
		if vals[d], err = document(p, d); err != nil {
			return nil, nil, err
		}
		params[lowerFirst(d)] = vals[d]
	}
	if err := p.CheckUnknown(); err != nil {
		return nil, nil, err
	}
	c.SetTrail(params, nil)
	if !given && implicit {
		if c.Caller.Kind != CallerUser {
			return nil, nil, awserr.Validation("Must specify userName when calling with non-User credentials")
		}
		userName = c.Caller.User.Name
	}
	acct := c.Caller.Account
	arn, u := h.userTarget(acct, userName)
	set := func(r *iampolicy.Request) {
		if u != nil {
			resourceTags(u.Tags)(r)
		}
		if extra != nil {
			extra(r)
		}
	}
	if err := h.authorize(c, "iam:"+action, arn, set); err != nil {
		return nil, nil, err
	}
	if u == nil {
		_, err := h.store.GetUser(acct, userName)
		return nil, nil, err
	}
	c.Trail.Resources = trailResource(acct, "AWS::IAM::User", u.ARN)
	return u, vals, nil
}

func (h *Handler) getUser(c *Call) (any, error) {
	u, _, err := h.userAction(c, "GetUser", true, nil)
	if err != nil {
		return nil, err
	}
	return userResult{toXMLUser(u)}, nil
}

// MaxAccessKeysPerUser is IAM's AccessKeysPerUser quota.
const MaxAccessKeysPerUser = 2

type xmlAccessKey struct {
	UserName        string
	AccessKeyId     string //nolint:revive // IAM's element name
	Status          string
	SecretAccessKey string
	CreateDate      string
}

func (h *Handler) createAccessKey(c *Call) (any, error) {
	u, _, err := h.userAction(c, "CreateAccessKey", true, nil)
	if err != nil {
		return nil, err
	}
	if n := len(h.store.AccessKeys(u.Account, u.Name)); n >= MaxAccessKeysPerUser {
		return nil, limitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", MaxAccessKeysPerUser)
	}
	k, err := h.store.CreateAccessKey(u.Account, u.Name)
	if err != nil {
		return nil, err
	}
	// CloudTrail never records the secret.
	c.SetTrail(nil, map[string]any{"accessKey": map[string]any{"userName": u.Name, "accessKeyId": k.ID, "status": "Active",
		"createDate": trailTime(k.Created)}})
	return struct{ AccessKey xmlAccessKey }{xmlAccessKey{UserName: u.Name, AccessKeyId: k.ID, Status: "Active",
		SecretAccessKey: k.Secret, CreateDate: isoTime(k.Created)}}, nil
}

func (h *Handler) putUserPolicy(c *Call) (any, error) {
	u, v, err := h.userAction(c, "PutUserPolicy", false, []string{"PolicyDocument"}, "PolicyName")
	if err != nil {
		return nil, err
	}
	return nil, h.store.PutUserPolicy(u.Account, u.Name, v["PolicyName"], v["PolicyDocument"])
}

// userPolicyARN reads PolicyArn and runs the user action with iam:PolicyARN set, as IAM supplies
// it for AttachUserPolicy and DetachUserPolicy.
func (h *Handler) userPolicyARN(c *Call, action string) (*User, string, error) {
	arn, err := arnParam(c.Params, "PolicyArn", true)
	if err != nil {
		return nil, "", err
	}
	u, _, err := h.userActionWith(c, action, false, nil, nil, policyARNKey(arn))
	if err != nil {
		return nil, "", err
	}
	c.SetTrail(map[string]string{"userName": u.Name, "policyArn": arn}, nil)
	return u, arn, nil
}

func (h *Handler) attachUserPolicy(c *Call) (any, error) {
	u, arn, err := h.userPolicyARN(c, "AttachUserPolicy")
	if err != nil {
		return nil, err
	}
	return nil, h.store.AttachUserPolicy(u.Account, u.Name, arn)
}

func (h *Handler) detachUserPolicy(c *Call) (any, error) {
	u, arn, err := h.userPolicyARN(c, "DetachUserPolicy")
	if err != nil {
		return nil, err
	}
	return nil, h.store.DetachUserPolicy(u.Account, u.Name, arn)
}

func (h *Handler) listAttachedUserPolicies(c *Call) (any, error) {
	prefix, err := pathPrefix(c.Params)
	if err != nil {
		return nil, err
	}
	pr, err := readPage(c.Params)
	if err != nil {
		return nil, err
	}
	u, _, err := h.userAction(c, "ListAttachedUserPolicies", false, nil)
	if err != nil {
		return nil, err
	}
	mps, err := h.store.ListAttachedUserPolicies(u.Account, u.Name)
	if err != nil {
		return nil, err
	}
	return attachedPage(pr, prefix, mps), nil
}
