package s3

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/mcpsso/mcpsso/internal/mocks/awsemu/iampolicy"
)

// bucketMeta is what S3 knows about a bucket beyond its objects: who owns it and its policy.
type bucketMeta struct {
	Name    string    `json:"name"`
	Owner   string    `json:"owner"` // account ID
	Created time.Time `json:"created"`
	Policy  string    `json:"policy,omitempty"`

	policy *iampolicy.Policy
}

// registry holds every bucket's owner and policy; bucket names are global, as in S3. With a
// file it persists across restarts (mcpsso aws serve --data).
type registry struct {
	mu      sync.RWMutex
	buckets map[string]*bucketMeta
	file    string
}

func newRegistry(file string) (*registry, error) {
	r := &registry{buckets: map[string]*bucketMeta{}, file: file}
	if file == "" {
		return r, nil
	}
	raw, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("s3: read bucket registry: %w", err)
	}
	var list []*bucketMeta
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("s3: bucket registry %s: %w", file, err)
	}
	for _, b := range list {
		if b.Policy != "" {
			if b.policy, err = ParseBucketPolicy(b.Name, []byte(b.Policy)); err != nil {
				return nil, fmt.Errorf("s3: bucket registry %s: policy of %s: %w", file, b.Name, err)
			}
		}
		r.buckets[b.Name] = b
	}
	return r, nil
}

// get returns a copy of a bucket's metadata.
func (r *registry) get(name string) (bucketMeta, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b, ok := r.buckets[name]
	if !ok {
		return bucketMeta{}, false
	}
	return *b, true
}

// add registers a bucket; it fails if the name is taken.
func (r *registry) add(b bucketMeta) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.buckets[b.Name]; ok {
		return fmt.Errorf("bucket %s exists", b.Name)
	}
	r.buckets[b.Name] = &b
	return r.saveLocked()
}

func (r *registry) remove(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.buckets, name)
	return r.saveLocked()
}

func (r *registry) setPolicy(name, doc string, p *iampolicy.Policy) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.buckets[name]
	if !ok {
		return fmt.Errorf("bucket %s does not exist", name)
	}
	b.Policy, b.policy = doc, p
	return r.saveLocked()
}

// owned lists the buckets an account owns, sorted by name.
func (r *registry) owned(account string) []bucketMeta {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []bucketMeta
	for _, b := range r.buckets {
		if b.Owner == account {
			out = append(out, *b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// saveLocked writes the registry atomically (temp file + rename).
func (r *registry) saveLocked() error {
	if r.file == "" {
		return nil
	}
	list := make([]*bucketMeta, 0, len(r.buckets))
	for _, b := range r.buckets {
		list = append(list, b)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	raw, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(r.file), ".buckets-*.json")
	if err != nil {
		return fmt.Errorf("s3: save bucket registry: %w", err)
	}
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("s3: save bucket registry: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), r.file)
}
