package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
)

// Authority is a FIDO Metadata Service of the test's own: a root (RootPEM,
// what the operator would configure as the trust anchor) and a signing
// certificate it issued, which signs MDS3 blobs the way FIDO's does.
type Authority struct {
	t       testing.TB
	RootPEM []byte
	rootDER []byte
	signer  *ecdsa.PrivateKey
	signDER []byte
}

// Vendor is an authenticator maker: its attestation root (listed in the
// metadata for its model) and the attestation certificate and key that the
// model's authenticators sign new credentials with.
type Vendor struct {
	AAGUID  [16]byte
	RootDER []byte
	CertDER []byte
	Key     *ecdsa.PrivateKey
}

// Entry is one model in a blob: a vendor and its certification status
// ("FIDO_CERTIFIED_L1", "REVOKED", …).
type Entry struct {
	Vendor *Vendor
	Status string
}

// NewAuthority makes a metadata root and a blob-signing certificate.
func NewAuthority(t testing.TB) *Authority {
	t.Helper()
	rootKey, rootDER := selfSigned(t, pkix.Name{CommonName: "keyshift test metadata root"})
	signer := newKey(t)
	signDER := issue(t, rootDER, rootKey, &x509.Certificate{Subject: pkix.Name{CommonName: "keyshift test metadata signer"}}, &signer.PublicKey)
	return &Authority{t: t, RootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}),
		rootDER: rootDER, signer: signer, signDER: signDER}
}

// NewVendor makes an attestation root and certificate for the model
// aaguid, as §8.2.1 of WebAuthn asks of a "packed" attestation certificate.
func NewVendor(t testing.TB, aaguid [16]byte) *Vendor {
	t.Helper()
	rootKey, rootDER := selfSigned(t, pkix.Name{CommonName: "keyshift test vendor root"})
	key := newKey(t)
	ext, err := asn1.Marshal(aaguid[:])
	if err != nil {
		t.Fatal(err)
	}
	cert := &x509.Certificate{
		Subject: pkix.Name{Country: []string{"SE"}, Organization: []string{"Test Vendor"},
			OrganizationalUnit: []string{"Authenticator Attestation"}, CommonName: "Test Key Series 1"},
		// id-fido-gen-ce-aaguid: the model, not critical.
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}, Value: ext}},
		BasicConstraintsValid: true,
	}
	return &Vendor{AAGUID: aaguid, RootDER: rootDER, CertDER: issue(t, rootDER, rootKey, cert, &key.PublicKey), Key: key}
}

// Blob writes an MDS3 blob listing entries, signed by a, to a file of the
// test's and returns its path.
func (a *Authority) Blob(entries ...Entry) string {
	a.t.Helper()
	return a.write(a.signer, a.signDER, entries)
}

// ForgedBlob is Blob signed by a certificate from another root.
func (a *Authority) ForgedBlob(entries ...Entry) string {
	a.t.Helper()
	other := NewAuthority(a.t)
	return a.write(other.signer, other.signDER, entries)
}

func (a *Authority) write(key *ecdsa.PrivateKey, certDER []byte, entries []Entry) string {
	b64 := base64.StdEncoding.EncodeToString
	var list []map[string]any
	for _, e := range entries {
		id := uuid.UUID(e.Vendor.AAGUID).String()
		list = append(list, map[string]any{
			"aaguid": id,
			"metadataStatement": map[string]any{
				"legalHeader": "test", "aaguid": id, "description": "Test Key Series 1",
				"authenticatorVersion": 1, "protocolFamily": "fido2", "schema": 3,
				"upv":                         []map[string]int{{"major": 1, "minor": 1}},
				"authenticationAlgorithms":    []string{"secp256r1_ecdsa_sha256_raw"},
				"publicKeyAlgAndEncodings":    []string{"cose"},
				"attestationTypes":            []string{"basic_full"},
				"userVerificationDetails":     [][]map[string]string{{{"userVerificationMethod": "presence_internal"}}},
				"keyProtection":               []string{"hardware", "secure_element"},
				"matcherProtection":           []string{"on_chip"},
				"attachmentHint":              []string{"external"},
				"tcDisplay":                   []string{},
				"attestationRootCertificates": []string{b64(e.Vendor.RootDER)},
			},
			"statusReports":          []map[string]string{{"status": e.Status, "effectiveDate": "2024-01-01"}},
			"timeOfLastStatusChange": "2024-01-01",
		})
	}
	payload := map[string]any{"legalHeader": "test", "no": 7, "nextUpdate": time.Now().AddDate(0, 1, 0).Format(time.DateOnly), "entries": list}
	header := map[string]any{"alg": "ES256", "typ": "JWT", "x5c": []string{b64(certDER), b64(a.rootDER)}}
	enc := func(v any) string { return base64.RawURLEncoding.EncodeToString(MustJSON(a.t, v)) }
	signed := enc(header) + "." + enc(payload)
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		a.t.Fatal(err)
	}
	sig := make([]byte, 64) // JWS ES256: r ‖ s, 32 bytes each
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	path := filepath.Join(a.t.TempDir(), "mds3.jwt")
	if err := os.WriteFile(path, []byte(signed+"."+base64.RawURLEncoding.EncodeToString(sig)), 0o600); err != nil {
		a.t.Fatal(err)
	}
	return path
}

// SignWith turns a into a "packed" full attestation by v's model: the
// AAGUID set to v's, signed by v's attestation key with its certificate.
func (a *Attestation) SignWith(v *Vendor) *Attestation {
	t := a.key.t
	t.Helper()
	copy(a.AuthData[37:37+16], v.AAGUID[:]) // after rpIdHash, flags and signCount (37 bytes)
	sum := sha256.Sum256(append(append([]byte{}, a.AuthData...), hash(a.ClientDataJSON)...))
	sig, err := ecdsa.SignASN1(rand.Reader, v.Key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := cbor.Marshal(map[string]any{"alg": -7, "sig": sig, "x5c": [][]byte{v.CertDER}})
	if err != nil {
		t.Fatal(err)
	}
	a.Format, a.AttStmt = "packed", stmt
	return a
}

// None strips a's attestation, as a synced passkey provider gives it.
func (a *Attestation) None() *Attestation {
	stmt, err := cbor.Marshal(map[string]any{})
	if err != nil {
		a.key.t.Fatal(err)
	}
	a.Format, a.AttStmt = "none", stmt
	return a
}

func hash(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func selfSigned(t testing.TB, name pkix.Name) (*ecdsa.PrivateKey, []byte) {
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: name, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func issue(t testing.TB, parentDER []byte, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate, pub *ecdsa.PublicKey) []byte {
	parent, err := x509.ParseCertificate(parentDER)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
