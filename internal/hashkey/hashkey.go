// Package hashkey keeps the provider's config-hash key: a random key in a
// Secret of the provider's namespace, made once. Config hashes are public
// (status, pod annotations) and cover secret values; keyed by something
// nobody else knows, they cannot be used to test guesses of those values.
package hashkey

import (
	"context"
	"crypto/rand"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// DataKey is the Secret's key that holds the hash key.
const DataKey = "key"

// Size is the length of a new key; MinSize the shortest one accepted.
const (
	Size    = 32
	MinSize = 16
)

const (
	errGet    = "cannot get the config-hash key Secret"
	errCreate = "cannot create the config-hash key Secret"
	errRandom = "cannot read random bytes for the config-hash key"
)

// Ensure returns the key in Secret ns/name, making the Secret with a new
// random key when there is none. Of providers racing to make it, all end
// up with the one that was stored.
func Ensure(ctx context.Context, c client.Client, ns, name string) ([]byte, error) {
	for range 2 {
		s := &corev1.Secret{}
		err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, s)
		if err == nil {
			return check(s, ns, name)
		}
		if !kerrors.IsNotFound(err) {
			return nil, errors.Wrap(err, errGet)
		}
		key := make([]byte, Size)
		if _, err := rand.Read(key); err != nil {
			return nil, errors.Wrap(err, errRandom)
		}
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app.kubernetes.io/part-of": "provider-mcp"}},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{DataKey: key},
		}
		err = c.Create(ctx, s)
		if err == nil {
			return key, nil
		}
		if !kerrors.IsAlreadyExists(err) {
			return nil, errors.Wrap(err, errCreate)
		}
		// Another provider made it first: read theirs.
	}
	return nil, errors.New(errCreate)
}

func check(s *corev1.Secret, ns, name string) ([]byte, error) {
	key := s.Data[DataKey]
	if len(key) < MinSize {
		return nil, fmt.Errorf("the config-hash key in Secret %s/%s (key %q) has %d bytes: it needs at least %d; delete the Secret to have a new one made", ns, name, DataKey, len(key), MinSize)
	}
	return key, nil
}
