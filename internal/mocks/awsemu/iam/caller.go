package iam

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/sigv4"
)

// AccessKey is a long-term access key of an IAM user.
type AccessKey struct {
	ID      string
	Secret  string
	Account string
	User    string
	Created time.Time
}

// Session is a set of temporary credentials issued by STS AssumeRole.
type Session struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Issued          time.Time
	Expiration      time.Time
	Account         string // the role's account
	RoleARN         string
	RoleName        string
	RoleID          string
	SessionName     string
	SourceIdentity  string
	// Tags are the session tags, inherited transitive tags included.
	Tags []Tag
	// TransitiveTagKeys are the keys that pass on to a chained session.
	TransitiveTagKeys []string
	// Policies are the session policies (inline Policy and PolicyArns).
	Policies []*iampolicy.Policy
	// Chained is true when the session was assumed with another role session's credentials.
	Chained bool
	// IssuedTo is the AWS service the session was issued to (e.g. ecs-tasks.amazonaws.com for
	// a task role); such credentials assuming another role are not role chaining.
	IssuedTo string
}

// ARN is the session's assumed-role ARN.
func (s *Session) ARN() string {
	return "arn:aws:sts::" + s.Account + ":assumed-role/" + s.RoleName + "/" + s.SessionName
}

// UserID is aws:userid of the session: "<role ID>:<session name>".
func (s *Session) UserID() string { return s.RoleID + ":" + s.SessionName }

// sessionRetention keeps expired sessions known for a while, so that their callers get
// ExpiredToken rather than InvalidClientTokenId, before they are swept.
const sessionRetention = time.Hour

// AddAccessKey registers a long-term key with a chosen ID and secret for an existing user
// (the emulator's fixed "test"/"test" admin keys use it).
func (s *Store) AddAccessKey(accountID, userName, id, secret string) (AccessKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.userLocked(accountID, userName); err != nil {
		return AccessKey{}, err
	}
	if _, dup := s.keys[id]; dup || s.sessions.has(id) {
		return AccessKey{}, alreadyExists("access key %s already exists", id)
	}
	return s.addKeyLocked(accountID, userName, id, secret)
}

// CreateAccessKey issues a new long-term key for a user.
func (s *Store) CreateAccessKey(accountID, userName string) (AccessKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.userLocked(accountID, userName); err != nil {
		return AccessKey{}, err
	}
	return s.addKeyLocked(accountID, userName, newID("AKIA"), randomSecret())
}

func (s *Store) addKeyLocked(accountID, userName, id, secret string) (AccessKey, error) {
	k := AccessKey{ID: id, Secret: secret, Account: accountID, User: userName, Created: s.now().UTC()}
	s.keys[id] = k
	return k, nil
}

// AddSession stores a session issued by STS, assigning its access key, secret and token.
func (s *Store) AddSession(sess Session) Session {
	sess.SecretAccessKey = randomSecret()
	sess.SessionToken = newSessionToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions.sweep(s.now())
	for {
		sess.AccessKeyID = newID("ASIA")
		if _, dup := s.keys[sess.AccessKeyID]; !dup && !s.sessions.has(sess.AccessKeyID) {
			break
		}
	}
	s.sessions.put(sess)
	if s.sessionFile != "" {
		// Best effort: a session that could not be written works until a restart forgets it,
		// as every session would be forgotten without the file (clients then renew).
		_ = s.saveSessionLocked(sess)
	}
	return sess
}

// SessionCount is the number of sessions the store remembers.
func (s *Store) SessionCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sessions.count()
}

func newSessionToken() string {
	// Real tokens are several hundred opaque base64 characters; the length matters only in
	// that clients must carry it whole.
	return sessionTokenPrefix + randomSecret() + randomSecret() + randomSecret()
}

// LookupAccessKey implements sigv4.CredentialStore. With WithAccountKeys, an unknown key of
// 12 digits creates its account first.
func (s *Store) LookupAccessKey(_ context.Context, id string) (sigv4.Credential, error) {
	s.mu.RLock()
	secret, token, expires, isSession := s.sessions.credential(id)
	k, ok := s.keys[id]
	s.mu.RUnlock()
	if isSession {
		return sigv4.Credential{SecretAccessKey: secret, Principal: id, SessionToken: token, Expires: expires}, nil
	}
	if !ok && s.accountKeySecret != "" && accountRe.MatchString(id) {
		if err := s.ensureAccountKey(id); err != nil {
			return sigv4.Credential{}, err
		}
		s.mu.RLock()
		k, ok = s.keys[id]
		s.mu.RUnlock()
	}
	if !ok {
		return sigv4.Credential{}, sigv4.ErrUnknownAccessKey
	}
	c := sigv4.Credential{SecretAccessKey: k.Secret, Principal: id}
	if s.accountKeySecret != "" && k.ID == k.Account {
		c.AnySecret = true // LocalStack's account-ID keys: any secret signs
	}
	return c, nil
}

// ensureAccountKey makes account id, with its admin user and the admin key "<id>", unless the
// key exists already (two first requests may race here).
func (s *Store) ensureAccountKey(id string) error {
	if !s.HasAccount(id) {
		if _, err := s.AddAccount(id); err != nil && awserr.As(err).Code != "EntityAlreadyExists" {
			return fmt.Errorf("creating account %s for its access key: %w", id, err)
		}
	}
	if _, err := s.AddAccessKey(id, "admin", id, s.accountKeySecret); err != nil && awserr.As(err).Code != "EntityAlreadyExists" {
		return fmt.Errorf("creating the admin key of account %s: %w", id, err)
	}
	return nil
}

// CallerKind classifies a caller.
type CallerKind uint8

const (
	// CallerUser signs with an IAM user's long-term key.
	CallerUser CallerKind = iota + 1
	// CallerSession signs with an assumed-role session's temporary key.
	CallerSession
)

// Caller is an authenticated principal with everything that governs what it may do.
type Caller struct {
	Kind        CallerKind
	AccessKeyID string
	Account     string
	ARN         string
	UserID      string   // principalId: AIDA… or AROA…:session
	User        *User    // CallerUser
	Session     *Session // CallerSession
	// Role is the role behind a session as it is now; nil when it was deleted (then the
	// session has no permissions, as in IAM).
	Role *Role
}

// Caller resolves an access key (already authenticated by SigV4) to its caller.
func (s *Store) Caller(accessKeyID string) (*Caller, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sess, ok := s.sessions.get(accessKeyID); ok {
		c := &Caller{Kind: CallerSession, AccessKeyID: accessKeyID, Account: sess.Account, ARN: sess.ARN(), UserID: sess.UserID(), Session: &sess}
		if r, err := s.roleLocked(sess.Account, sess.RoleName); err == nil && r.ID == sess.RoleID {
			c.Role = r.clone()
		}
		return c, nil
	}
	k, ok := s.keys[accessKeyID]
	if !ok {
		return nil, awserr.New(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	u, err := s.userLocked(k.Account, k.User)
	if err != nil {
		return nil, awserr.New(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	return &Caller{Kind: CallerUser, AccessKeyID: accessKeyID, Account: u.Account, ARN: u.ARN, UserID: u.ID, User: u.clone()}, nil
}

// Tags are the caller's principal tags: a user's tags, or for a session the role's tags
// overridden (case-insensitively) by the session tags.
func (c *Caller) Tags() map[string]string {
	out := map[string]string{}
	set := func(tags []Tag) {
		for _, t := range tags {
			for k := range out {
				if strings.EqualFold(k, t.Key) {
					delete(out, k)
				}
			}
			out[t.Key] = t.Value
		}
	}
	switch c.Kind {
	case CallerUser:
		set(c.User.Tags)
	case CallerSession:
		if c.Role != nil {
			set(c.Role.Tags)
		}
		set(c.Session.Tags)
	}
	return out
}

// Principal is the caller as the policy engine sees it.
func (c *Caller) Principal() iampolicy.Principal {
	p := iampolicy.Principal{ARN: c.ARN, Account: c.Account, UserID: c.UserID, Tags: c.Tags()}
	if c.Kind == CallerSession {
		p.SourceIdentity = c.Session.SourceIdentity
		if c.Role != nil {
			p.RoleARN = c.Role.ARN
		}
	}
	return p
}

// Authorize decides whether the caller may do r (whose Principal it fills in), given the
// resource's policy (a bucket policy or trust policy; nil when there is none) and the account
// that owns the resource ("" for the caller's own).
//
// A nil caller is anonymous (an unsigned S3 request): only the resource policy can allow it.
func (s *Store) Authorize(c *Caller, r *iampolicy.Request, resourcePolicy *iampolicy.Policy, resourceAccount string) iampolicy.Decision {
	if c == nil {
		r.Principal = iampolicy.Principal{}
		if r.Time.IsZero() {
			r.Time = s.now()
		}
		return iampolicy.Decide(iampolicy.Input{Request: r, Resource: resourcePolicy, ResourceAccount: resourceAccount})
	}
	r.Principal = c.Principal()
	if r.Time.IsZero() {
		r.Time = s.now()
	}
	in := iampolicy.Input{Request: r, Resource: resourcePolicy, ResourceAccount: resourceAccount}
	s.mu.RLock()
	switch c.Kind {
	case CallerUser:
		in.Identity = s.identityPoliciesLocked(c.User.Inline, c.User.Attached)
	case CallerSession:
		if c.Role != nil {
			in.Identity = s.identityPoliciesLocked(c.Role.Inline, c.Role.Attached)
			if c.Role.BoundaryARN != "" {
				if mp, err := s.policyLocked(c.Role.BoundaryARN); err == nil {
					in.Boundary = mp.Document
				} else {
					// A boundary that no longer exists allows nothing: fail closed.
					in.Boundary = denyAll
				}
			}
		}
		in.Session = c.Session.Policies
	}
	s.mu.RUnlock()
	return iampolicy.Decide(in)
}

var denyAll = iampolicy.MustParse(iampolicy.PermissionsBoundary, "missing permissions boundary",
	`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)

func (s *Store) identityPoliciesLocked(inline map[string]*iampolicy.Policy, attached []string) []*iampolicy.Policy {
	out := make([]*iampolicy.Policy, 0, len(inline)+len(attached))
	for _, p := range inline {
		out = append(out, p)
	}
	for _, arn := range attached {
		if mp, err := s.policyLocked(arn); err == nil {
			out = append(out, mp.Document)
		}
	}
	return out
}

// String describes the caller for logs.
func (c *Caller) String() string { return fmt.Sprintf("%s (%s)", c.ARN, c.AccessKeyID) }

// AccessKeys lists a user's long-term access keys, oldest first, without their secrets.
func (s *Store) AccessKeys(accountID, userName string) []AccessKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []AccessKey
	for _, k := range s.keys {
		if k.Account == accountID && strings.EqualFold(k.User, userName) {
			c := k
			c.Secret = ""
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}
