// Package iam is the identity side of the AWS emulator: accounts, users, roles, managed and
// inline policies, access keys and the STS sessions issued from them (Store), plus the IAM
// Query API over them (Handler). Every caller is resolved here into the policies that govern
// it, so STS, S3 and IAM itself authorize through one place (Store.Authorize).
//
// Entities are validated as IAM validates them (names, paths, quotas, policy grammar through
// iampolicy) and errors carry IAM's codes: NoSuchEntity, EntityAlreadyExists,
// MalformedPolicyDocument, LimitExceeded, DeleteConflict, ValidationError.
package iam

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/mcpsso/mcpsso/mocks/aws/awserr"
	"github.com/mcpsso/mcpsso/mocks/aws/iampolicy"
)

// IAM quotas (IAM User Guide, reference_iam-quotas) the store enforces.
const (
	MaxTrustPolicyChars     = 2048  // ACLSizePerRole default
	MaxRoleInlineChars      = 10240 // aggregate inline policy size per role
	MaxUserInlineChars      = 2048  // aggregate inline policy size per user
	MaxManagedPolicyChars   = 6144
	MaxAttachedPerRole      = 10
	MaxTagsPerEntity        = 50
	DefaultMaxSessionSecond = 3600
)

// Tag is an IAM tag.
type Tag struct {
	Key   string
	Value string
}

// Role is a snapshot of an IAM role.
type Role struct {
	Account            string
	Name               string
	Path               string
	ARN                string
	ID                 string // AROA…
	Created            time.Time
	Description        string
	MaxSessionDuration int // seconds
	TrustPolicy        *iampolicy.Policy
	Tags               []Tag
	BoundaryARN        string
	Inline             map[string]*iampolicy.Policy
	Attached           []string // managed policy ARNs
}

// User is a snapshot of an IAM user.
type User struct {
	Account  string
	Name     string
	Path     string
	ARN      string
	ID       string // AIDA…
	Created  time.Time
	Tags     []Tag
	Inline   map[string]*iampolicy.Policy
	Attached []string
}

// ManagedPolicy is a customer-managed policy (one version, v1, as the emulator keeps no history).
type ManagedPolicy struct {
	Account     string
	Name        string
	Path        string
	ARN         string
	ID          string // ANPA…
	Created     time.Time
	Description string
	Document    *iampolicy.Policy
	Attachments int
	Tags        []Tag
}

type account struct {
	id       string
	roles    map[string]*Role // by lower-cased name: IAM names are case-insensitive for uniqueness
	users    map[string]*User
	policies map[string]*ManagedPolicy // by ARN
}

// Store holds every account's identities. It is safe for concurrent use; getters return copies.
type Store struct {
	mu       sync.RWMutex
	accounts map[string]*account
	keys     map[string]*accessKey // long-term and session keys by ID
	now      func() time.Time
	// lastSweep is when expired sessions were last forgotten.
	lastSweep time.Time
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithClock sets the clock used for creation dates and session expiry.
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// NewStore returns an empty store.
func NewStore(opts ...StoreOption) *Store {
	s := &Store{accounts: map[string]*account{}, keys: map[string]*accessKey{}, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

var (
	accountRe  = regexp.MustCompile(`^\d{12}$`)
	nameRe     = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRe     = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	tagCharsRe = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

func noSuchEntity(format string, args ...any) error {
	return awserr.New(http.StatusNotFound, "NoSuchEntity", format, args...)
}

func alreadyExists(format string, args ...any) error {
	return awserr.New(http.StatusConflict, "EntityAlreadyExists", format, args...)
}

func limitExceeded(format string, args ...any) error {
	return awserr.New(http.StatusConflict, "LimitExceeded", format, args...)
}

func malformed(err error) error {
	return awserr.New(http.StatusBadRequest, "MalformedPolicyDocument", "%s", strings.TrimPrefix(err.Error(), "MalformedPolicyDocument: "))
}

// AddAccount creates an account with its administrator: IAM user "admin" with an
// AdministratorAccess-like inline policy and an access key. It returns that key.
func (s *Store) AddAccount(id string) (AccessKey, error) {
	if !accountRe.MatchString(id) {
		return AccessKey{}, awserr.Validation("account ID %q must be 12 digits", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[id]; ok {
		return AccessKey{}, alreadyExists("account %s already exists", id)
	}
	acct := &account{id: id, roles: map[string]*Role{}, users: map[string]*User{}, policies: map[string]*ManagedPolicy{}}
	s.accounts[id] = acct
	admin := &User{Account: id, Name: "admin", Path: "/", ARN: "arn:aws:iam::" + id + ":user/admin", ID: newID("AIDA"), Created: s.now().UTC(),
		Inline: map[string]*iampolicy.Policy{"AdministratorAccess": adminPolicy}}
	acct.users["admin"] = admin
	return s.addKeyLocked(id, "admin", newID("AKIA"), randomSecret())
}

var adminPolicy = iampolicy.MustParse(iampolicy.IdentityPolicy, "AdministratorAccess",
	`{"Version":"2012-10-17","Statement":[{"Sid":"AdministratorAccess","Effect":"Allow","Action":"*","Resource":"*"}]}`)

// HasAccount reports whether the account exists.
func (s *Store) HasAccount(id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.accounts[id]
	return ok
}

// Accounts lists the account IDs, sorted.
func (s *Store) Accounts() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.accounts))
	for id := range s.accounts {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (s *Store) accountLocked(id string) (*account, error) {
	a, ok := s.accounts[id]
	if !ok {
		return nil, noSuchEntity("account %s does not exist in this emulator", id)
	}
	return a, nil
}

// RoleInput is what CreateRole takes.
type RoleInput struct {
	Name               string
	Path               string // default "/"
	TrustPolicy        string
	Description        string
	MaxSessionDuration int // 0: 3600
	Tags               []Tag
	BoundaryARN        string
}

// CreateRole validates and creates a role.
func (s *Store) CreateRole(accountID string, in RoleInput) (*Role, error) {
	if err := checkName("roleName", in.Name, 64); err != nil {
		return nil, err
	}
	if in.Path == "" {
		in.Path = "/"
	}
	if err := checkPath(in.Path); err != nil {
		return nil, err
	}
	if in.MaxSessionDuration == 0 {
		in.MaxSessionDuration = DefaultMaxSessionSecond
	}
	if in.MaxSessionDuration < 3600 || in.MaxSessionDuration > 43200 {
		return nil, awserr.Validation("1 validation error detected: Value '%d' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", in.MaxSessionDuration)
	}
	if len(in.Description) > 1000 {
		return nil, awserr.Validation("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	trust, err := parseSized(iampolicy.TrustPolicy, "trust policy of role "+in.Name, in.TrustPolicy, MaxTrustPolicyChars, "ACLSizePerRole")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acct, err := s.accountLocked(accountID)
	if err != nil {
		return nil, err
	}
	if err := s.checkTrustPrincipalsLocked(trust); err != nil {
		return nil, err
	}
	if in.BoundaryARN != "" {
		if _, err := s.policyLocked(in.BoundaryARN); err != nil {
			return nil, err
		}
	}
	key := strings.ToLower(in.Name)
	if _, ok := acct.roles[key]; ok {
		return nil, alreadyExists("Role with name %s already exists.", in.Name)
	}
	r := &Role{Account: accountID, Name: in.Name, Path: in.Path, ARN: "arn:aws:iam::" + accountID + ":role" + in.Path + in.Name,
		ID: newID("AROA"), Created: s.now().UTC(), Description: in.Description, MaxSessionDuration: in.MaxSessionDuration,
		TrustPolicy: trust, Tags: append([]Tag(nil), in.Tags...), BoundaryARN: in.BoundaryARN, Inline: map[string]*iampolicy.Policy{}}
	acct.roles[key] = r
	return r.clone(), nil
}

// checkTrustPrincipalsLocked rejects a trust policy naming a role or user that does not exist
// in an account the emulator knows, as IAM does ("Invalid principal in policy").
func (s *Store) checkTrustPrincipalsLocked(p *iampolicy.Policy) error {
	for _, arn := range p.PrincipalARNs() {
		a, ok := splitIAMARN(arn)
		if !ok {
			continue
		}
		acct, known := s.accounts[a.account]
		if !known {
			continue // another AWS account: IAM cannot see it either
		}
		var exists bool
		switch a.kind {
		case "role":
			_, exists = acct.roles[strings.ToLower(a.name)]
		case "user":
			_, exists = acct.users[strings.ToLower(a.name)]
		default:
			exists = true
		}
		if !exists {
			return awserr.New(http.StatusBadRequest, "MalformedPolicyDocument", "Invalid principal in policy: \"AWS\":\"%s\"", arn)
		}
	}
	return nil
}

type iamARN struct{ account, kind, name string }

func splitIAMARN(arn string) (iamARN, bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok || len(rest) < 13 || rest[12] != ':' {
		return iamARN{}, false
	}
	kind, path, _ := strings.Cut(rest[13:], "/")
	name := path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		name = path[i+1:]
	}
	return iamARN{account: rest[:12], kind: kind, name: name}, true
}

func (r *Role) clone() *Role {
	c := *r
	c.Tags = append([]Tag(nil), r.Tags...)
	c.Attached = append([]string(nil), r.Attached...)
	c.Inline = make(map[string]*iampolicy.Policy, len(r.Inline))
	for k, v := range r.Inline {
		c.Inline[k] = v
	}
	return &c
}

func (u *User) clone() *User {
	c := *u
	c.Tags = append([]Tag(nil), u.Tags...)
	c.Attached = append([]string(nil), u.Attached...)
	c.Inline = make(map[string]*iampolicy.Policy, len(u.Inline))
	for k, v := range u.Inline {
		c.Inline[k] = v
	}
	return &c
}

func (s *Store) roleLocked(accountID, name string) (*Role, error) {
	acct, err := s.accountLocked(accountID)
	if err != nil {
		return nil, err
	}
	r, ok := acct.roles[strings.ToLower(name)] // IAM names are unique ignoring case
	if !ok {
		return nil, noSuchEntity("The role with name %s cannot be found.", name)
	}
	return r, nil
}

// GetRole returns a copy of a role.
func (s *Store) GetRole(accountID, name string) (*Role, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.roleLocked(accountID, name)
	if err != nil {
		return nil, err
	}
	return r.clone(), nil
}

// RoleByARN finds a role by its ARN (path included, as AWS compares it).
func (s *Store) RoleByARN(arn string) (*Role, error) {
	a, ok := splitIAMARN(arn)
	if !ok || a.kind != "role" {
		return nil, noSuchEntity("%s is not a role ARN", arn)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.roleLocked(a.account, a.name)
	if err != nil {
		return nil, err
	}
	if r.ARN != arn {
		return nil, noSuchEntity("The role with name %s cannot be found.", a.name)
	}
	return r.clone(), nil
}

// ListRoles lists an account's roles whose path starts with pathPrefix, sorted by name.
func (s *Store) ListRoles(accountID, pathPrefix string) ([]*Role, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	acct, err := s.accountLocked(accountID)
	if err != nil {
		return nil, err
	}
	var out []*Role
	for _, r := range acct.roles {
		if strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DeleteRole deletes a role that has no inline or attached policies, as IAM requires.
func (s *Store) DeleteRole(accountID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, name)
	if err != nil {
		return err
	}
	if len(r.Inline) > 0 || len(r.Attached) > 0 {
		return awserr.New(http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	delete(s.accounts[accountID].roles, strings.ToLower(name))
	return nil
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Store) UpdateAssumeRolePolicy(accountID, name, doc string) error {
	trust, err := parseSized(iampolicy.TrustPolicy, "trust policy of role "+name, doc, MaxTrustPolicyChars, "ACLSizePerRole")
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, name)
	if err != nil {
		return err
	}
	if err := s.checkTrustPrincipalsLocked(trust); err != nil {
		return err
	}
	r.TrustPolicy = trust
	return nil
}

// PutRolePolicy adds or replaces an inline policy of a role.
func (s *Store) PutRolePolicy(accountID, roleName, policyName, doc string) error {
	p, err := parseInline(policyName, "role "+roleName, doc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return err
	}
	return putInline(r.Inline, policyName, doc, p, MaxRoleInlineChars, "role "+roleName)
}

// parseInline validates an inline policy's name and document.
func parseInline(policyName, owner, doc string) (*iampolicy.Policy, error) {
	if err := checkName("policyName", policyName, 128); err != nil {
		return nil, err
	}
	p, err := iampolicy.Parse(iampolicy.IdentityPolicy, fmt.Sprintf("inline policy %s of %s", policyName, owner), []byte(doc))
	if err != nil {
		return nil, malformed(err)
	}
	return p, nil
}

// putInline adds or replaces an inline policy, keeping the owner's inline documents within
// IAM's aggregate size quota.
func putInline(inline map[string]*iampolicy.Policy, name, doc string, p *iampolicy.Policy, limit int, owner string) error {
	total := policyChars(doc)
	for n, q := range inline {
		if n != name {
			total += policyChars(string(q.Document()))
		}
	}
	if total > limit {
		return limitExceeded("Maximum policy size of %d bytes exceeded for %s", limit, owner)
	}
	inline[name] = p
	return nil
}

// GetRolePolicy returns an inline policy's document.
func (s *Store) GetRolePolicy(accountID, roleName, policyName string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return "", err
	}
	p, ok := r.Inline[policyName]
	if !ok {
		return "", noSuchEntity("The role policy with name %s cannot be found.", policyName)
	}
	return string(p.Document()), nil
}

// DeleteRolePolicy removes an inline policy.
func (s *Store) DeleteRolePolicy(accountID, roleName, policyName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return err
	}
	if _, ok := r.Inline[policyName]; !ok {
		return noSuchEntity("The role policy with name %s cannot be found.", policyName)
	}
	delete(r.Inline, policyName)
	return nil
}

// ListRolePolicies lists a role's inline policy names, sorted.
func (s *Store) ListRolePolicies(accountID, roleName string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(r.Inline))
	for n := range r.Inline {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// CreatePolicy creates a customer-managed policy.
func (s *Store) CreatePolicy(accountID, name, path, doc, description string) (*ManagedPolicy, error) {
	return s.CreatePolicyWithTags(accountID, name, path, doc, description, nil)
}

// CreatePolicyWithTags creates a customer-managed policy with tags (IAM's CreatePolicy takes
// up to 50, with the same rules as role tags).
func (s *Store) CreatePolicyWithTags(accountID, name, path, doc, description string, tags []Tag) (*ManagedPolicy, error) {
	if err := checkName("policyName", name, 128); err != nil {
		return nil, err
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if path == "" {
		path = "/"
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	p, err := parseSized(iampolicy.IdentityPolicy, "managed policy "+name, doc, MaxManagedPolicyChars, "PolicySize")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acct, err := s.accountLocked(accountID)
	if err != nil {
		return nil, err
	}
	arn := "arn:aws:iam::" + accountID + ":policy" + path + name
	for _, mp := range acct.policies {
		if strings.EqualFold(mp.Name, name) {
			return nil, alreadyExists("A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	mp := &ManagedPolicy{Account: accountID, Name: name, Path: path, ARN: arn, ID: newID("ANPA"), Created: s.now().UTC(), Description: description, Document: p,
		Tags: append([]Tag(nil), tags...)}
	acct.policies[arn] = mp
	c := *mp
	return &c, nil
}

// BoundaryUsage counts the roles whose permissions boundary is the managed policy arn
// (IAM's PermissionsBoundaryUsageCount).
func (s *Store) BoundaryUsage(arn string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, acct := range s.accounts {
		for _, r := range acct.roles {
			if r.BoundaryARN == arn {
				n++
			}
		}
	}
	return n
}

func (s *Store) policyLocked(arn string) (*ManagedPolicy, error) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if ok && len(rest) > 12 {
		if acct, ok := s.accounts[rest[:12]]; ok {
			if mp, ok := acct.policies[arn]; ok {
				return mp, nil
			}
		}
	}
	return nil, noSuchEntity("Policy %s does not exist or is not attachable.", arn)
}

// GetPolicy returns a copy of a managed policy.
func (s *Store) GetPolicy(arn string) (*ManagedPolicy, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mp, err := s.policyLocked(arn)
	if err != nil {
		return nil, err
	}
	c := *mp
	return &c, nil
}

// DeletePolicy deletes a managed policy that is attached to nothing.
func (s *Store) DeletePolicy(arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mp, err := s.policyLocked(arn)
	if err != nil {
		return err
	}
	if mp.Attachments > 0 {
		return awserr.New(http.StatusConflict, "DeleteConflict", "Cannot delete a policy attached to entities.")
	}
	delete(s.accounts[mp.Account].policies, arn)
	return nil
}

// AttachRolePolicy attaches a managed policy to a role.
func (s *Store) AttachRolePolicy(accountID, roleName, arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return err
	}
	mp, err := s.policyLocked(arn)
	if err != nil {
		return err
	}
	for _, a := range r.Attached {
		if a == arn {
			return nil // attaching twice is a no-op in IAM
		}
	}
	if len(r.Attached) >= MaxAttachedPerRole {
		return limitExceeded("Cannot exceed quota for PoliciesPerRole: %d", MaxAttachedPerRole)
	}
	r.Attached = append(r.Attached, arn)
	mp.Attachments++
	return nil
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Store) DetachRolePolicy(accountID, roleName, arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return err
	}
	for i, a := range r.Attached {
		if a == arn {
			r.Attached = append(r.Attached[:i], r.Attached[i+1:]...)
			if mp, err := s.policyLocked(arn); err == nil {
				mp.Attachments--
			}
			return nil
		}
	}
	return noSuchEntity("Policy %s was not found.", arn)
}

// ListAttachedRolePolicies returns the managed policies attached to a role.
func (s *Store) ListAttachedRolePolicies(accountID, roleName string) ([]*ManagedPolicy, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return nil, err
	}
	out := make([]*ManagedPolicy, 0, len(r.Attached))
	for _, arn := range r.Attached {
		if mp, err := s.policyLocked(arn); err == nil {
			c := *mp
			out = append(out, &c)
		}
	}
	return out, nil
}

// TagRole adds or replaces tags (keys compare case-insensitively, as in IAM).
func (s *Store) TagRole(accountID, roleName string, tags []Tag) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return err
	}
	merged := append([]Tag(nil), r.Tags...)
	for _, t := range tags {
		replaced := false
		for i := range merged {
			if strings.EqualFold(merged[i].Key, t.Key) {
				merged[i], replaced = t, true
			}
		}
		if !replaced {
			merged = append(merged, t)
		}
	}
	if len(merged) > MaxTagsPerEntity {
		return limitExceeded("The number of tags has reached the maximum limit of %d.", MaxTagsPerEntity)
	}
	r.Tags = merged
	return nil
}

// UntagRole removes tags by key.
func (s *Store) UntagRole(accountID, roleName string, keys []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roleLocked(accountID, roleName)
	if err != nil {
		return err
	}
	kept := r.Tags[:0:0]
	for _, t := range r.Tags {
		drop := false
		for _, k := range keys {
			drop = drop || strings.EqualFold(t.Key, k)
		}
		if !drop {
			kept = append(kept, t)
		}
	}
	r.Tags = kept
	return nil
}

// CreateUser creates an IAM user.
func (s *Store) CreateUser(accountID, name, path string, tags []Tag) (*User, error) {
	if err := checkName("userName", name, 64); err != nil {
		return nil, err
	}
	if path == "" {
		path = "/"
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acct, err := s.accountLocked(accountID)
	if err != nil {
		return nil, err
	}
	if _, ok := acct.users[strings.ToLower(name)]; ok {
		return nil, alreadyExists("User with name %s already exists.", name)
	}
	u := &User{Account: accountID, Name: name, Path: path, ARN: "arn:aws:iam::" + accountID + ":user" + path + name, ID: newID("AIDA"),
		Created: s.now().UTC(), Tags: append([]Tag(nil), tags...), Inline: map[string]*iampolicy.Policy{}}
	acct.users[strings.ToLower(name)] = u
	return u.clone(), nil
}

func (s *Store) userLocked(accountID, name string) (*User, error) {
	acct, err := s.accountLocked(accountID)
	if err != nil {
		return nil, err
	}
	u, ok := acct.users[strings.ToLower(name)]
	if !ok {
		return nil, noSuchEntity("The user with name %s cannot be found.", name)
	}
	return u, nil
}

// GetUser returns a copy of a user.
func (s *Store) GetUser(accountID, name string) (*User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, err := s.userLocked(accountID, name)
	if err != nil {
		return nil, err
	}
	return u.clone(), nil
}

// PutUserPolicy adds or replaces an inline policy of a user.
func (s *Store) PutUserPolicy(accountID, userName, policyName, doc string) error {
	p, err := parseInline(policyName, "user "+userName, doc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(accountID, userName)
	if err != nil {
		return err
	}
	return putInline(u.Inline, policyName, doc, p, MaxUserInlineChars, "user "+userName)
}

// parseSized checks IAM's size quota (white space does not count) and parses the document.
func parseSized(kind iampolicy.Kind, name, doc string, limit int, quota string) (*iampolicy.Policy, error) {
	if n := policyChars(doc); n > limit {
		return nil, limitExceeded("Cannot exceed quota for %s: %d (the document has %d characters without white space)", quota, limit, n)
	}
	p, err := iampolicy.Parse(kind, name, []byte(doc))
	if err != nil {
		return nil, malformed(err)
	}
	return p, nil
}

// policyChars counts a document's characters the way IAM's quotas do: without white space.
func policyChars(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func checkName(field, name string, max int) error {
	if len(name) < 1 || len(name) > max {
		return awserr.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length between 1 and %d", name, field, max)
	}
	if !nameRe.MatchString(name) {
		return awserr.Validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name, field)
	}
	return nil
}

func checkPath(path string) error {
	if len(path) > 512 || !pathRe.MatchString(path) {
		return awserr.Validation("1 validation error detected: Value '%s' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)", path)
	}
	return nil
}

// checkTags applies IAM's tag rules: at most 50, key 1..128 and value 0..256 characters of
// letters, spaces, digits and _.:/=+-@, keys unique ignoring case, no aws: prefix.
func checkTags(tags []Tag) error {
	if len(tags) > MaxTagsPerEntity {
		return limitExceeded("The number of tags has reached the maximum limit of %d.", MaxTagsPerEntity)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case len(t.Key) < 1 || len(t.Key) > 128 || !tagCharsRe.MatchString(t.Key):
			return awserr.Validation("1 validation error detected: Value '%s' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", t.Key)
		case len(t.Value) > 256 || !tagCharsRe.MatchString(t.Value):
			return awserr.Validation("1 validation error detected: Value '%s' at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", t.Value)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return awserr.New(http.StatusBadRequest, "InvalidInput", "Tag keys starting with 'aws:' are reserved for AWS use: %s", t.Key)
		case seen[strings.ToLower(t.Key)]:
			return awserr.New(http.StatusBadRequest, "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive: %s", t.Key)
		}
		seen[strings.ToLower(t.Key)] = true
	}
	return nil
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newID returns an IAM-style unique ID: the prefix and 16 (keys) or 17 (entities) characters.
func newID(prefix string) string {
	n := 17
	if prefix == "AKIA" || prefix == "ASIA" {
		n = 16
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return prefix + string(b)
}

func randomSecret() string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
