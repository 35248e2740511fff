package iam

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/awserr"
	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// Managed policies and their attachment to roles, and the size and grammar checks shared by
// every policy document.

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
