package oidcprovider

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/keyshift/keyshift/internal/account"
)

// NewSigningKey makes an ES256 key: P-256 ECDSA, which every OIDC client
// library verifies and which signs far faster than RSA.
func NewSigningKey(now time.Time) (*SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return &SigningKey{ID: account.Random{}.NewID(), Alg: string(jose.ES256), PrivateDER: der, CreatedAt: now}, nil
}

// signer returns k's private key.
func (k *SigningKey) signer() (crypto.Signer, error) {
	key, err := x509.ParsePKCS8PrivateKey(k.PrivateDER)
	if err != nil {
		return nil, fmt.Errorf("oidc signing key %s: %w", k.ID, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("oidc signing key %s: not a signing key", k.ID)
	}
	return s, nil
}

// RotateKey makes a new signing key; the old ones stay in the JWKS for
// keep (the longest a token they signed lives), so no token in flight
// stops verifying (`keyshift admin keys rotate`).
func RotateKey(ctx context.Context, keys KeyStore, now time.Time, keep time.Duration) (*SigningKey, error) {
	k, err := NewSigningKey(now)
	if err != nil {
		return nil, err
	}
	if err := keys.AddOIDCKey(ctx, k, now.Add(keep)); err != nil {
		return nil, err
	}
	return k, nil
}

// opSigningKey and opPublicKey show a SigningKey to the op package.
type opSigningKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (k opSigningKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k opSigningKey) Key() any                                    { return k.key }
func (k opSigningKey) ID() string                                  { return k.id }

type opPublicKey struct{ opSigningKey }

var _ op.Key = opPublicKey{}

func (k opPublicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k opPublicKey) Use() string                        { return "sig" }
func (k opPublicKey) Key() any                           { return k.key.Public() }

func opKey(k *SigningKey) (opSigningKey, error) {
	s, err := k.signer()
	if err != nil {
		return opSigningKey{}, err
	}
	return opSigningKey{id: k.ID, alg: jose.SignatureAlgorithm(k.Alg), key: s}, nil
}
