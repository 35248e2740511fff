package iam

import (
	"slices"
	"time"
)

// Managed policies attached to users, and when a role was last used: the parts of the store
// behind AttachUserPolicy, DetachUserPolicy, ListAttachedUserPolicies and GetRole's RoleLastUsed.

// MarkRoleUsed records that the role was assumed at t in region, for GetRole's RoleLastUsed.
func (s *Store) MarkRoleUsed(accountID, roleName, region string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, err := s.roleLocked(accountID, roleName); err == nil {
		r.LastUsed, r.LastUsedRegion = t.UTC(), region
	}
}

// AttachUserPolicy attaches a managed policy to a user.
func (s *Store) AttachUserPolicy(accountID, userName, arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(accountID, userName)
	if err != nil {
		return err
	}
	mp, err := s.policyLocked(arn)
	if err != nil {
		return err
	}
	if slices.Contains(u.Attached, arn) {
		return nil // attaching twice is a no-op in IAM
	}
	if len(u.Attached) >= MaxAttachedPerUser {
		return limitExceeded("Cannot exceed quota for PoliciesPerUser: %d", MaxAttachedPerUser)
	}
	u.Attached = append(u.Attached, arn)
	mp.Attachments++
	return nil
}

// DetachUserPolicy detaches a managed policy from a user.
func (s *Store) DetachUserPolicy(accountID, userName, arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(accountID, userName)
	if err != nil {
		return err
	}
	i := slices.Index(u.Attached, arn)
	if i < 0 {
		return noSuchEntity("Policy %s was not found.", arn)
	}
	u.Attached = slices.Delete(u.Attached, i, i+1)
	if mp, err := s.policyLocked(arn); err == nil {
		mp.Attachments--
	}
	return nil
}

// ListAttachedUserPolicies returns the managed policies attached to a user.
func (s *Store) ListAttachedUserPolicies(accountID, userName string) ([]*ManagedPolicy, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, err := s.userLocked(accountID, userName)
	if err != nil {
		return nil, err
	}
	out := make([]*ManagedPolicy, 0, len(u.Attached))
	for _, arn := range u.Attached {
		if mp, err := s.policyLocked(arn); err == nil {
			c := *mp
			out = append(out, &c)
		}
	}
	return out, nil
}
