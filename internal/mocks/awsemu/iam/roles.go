package iam

import (
	"net/http"
	"sort"
	"strings"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// Roles: creation (with the trust policy checked as IAM checks it), lookup, deletion and
// inline role policies.

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
