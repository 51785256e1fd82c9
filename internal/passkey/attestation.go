package passkey

import (
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/keyshift/keyshift/internal/aaguid"
	"github.com/keyshift/keyshift/internal/account"
)

// Metadata is a FIDO Metadata Service (MDS3) blob, read from a file and
// verified against its trust anchor: the list of authenticator models with
// the roots their attestation certificates chain to and their
// certification status. With it keyshift asks for attestation ("direct")
// and accepts a new passkey only when its attestation proves the model —
// so the AAGUID policy judges a verified AAGUID, not a claim.
type Metadata struct {
	provider metadata.Provider
	// Number is the blob's serial number ("no"), NextUpdate the date by
	// which FIDO publishes the next one, Entries how many models it lists
	// and Skipped how many entries could not be read (they are left out).
	Number     int
	NextUpdate time.Time
	Entries    int
	Skipped    int
}

// LoadMetadata reads the MDS3 blob at path — the JWT served at
// https://mds3.fidoalliance.org/, downloaded by the operator; keyshift
// fetches nothing — and verifies its signature chain against root (a PEM
// certificate; nil is the FIDO Alliance's production root). Entries the
// library cannot read are skipped and counted rather than failing the
// whole blob: one odd model must not stop every registration.
func LoadMetadata(path string, root []byte) (*Metadata, error) {
	blob, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the metadata blob: %w", err)
	}
	opts := []metadata.DecoderOption{metadata.WithIgnoreEntryParsingErrors()}
	if root != nil {
		b, _ := pem.Decode(root)
		if b == nil || b.Type != "CERTIFICATE" {
			return nil, errors.New("the metadata root is not a PEM certificate")
		}
		opts = append(opts, metadata.WithRootCertificate(base64.StdEncoding.EncodeToString(b.Bytes)))
	}
	dec, err := metadata.NewDecoder(opts...)
	if err != nil {
		return nil, err
	}
	payload, err := dec.DecodeBytes(blob)
	if err != nil {
		return nil, fmt.Errorf("the metadata blob %s does not verify: %w", path, err)
	}
	mds, err := dec.Parse(payload)
	if err != nil {
		return nil, fmt.Errorf("reading the metadata blob %s: %w", path, err)
	}
	// The memory provider refuses an AAGUID the blob does not list, a
	// model whose status is revoked or compromised, and an attestation
	// certificate that does not chain to the model's listed roots.
	p, err := memory.New(
		memory.WithMetadata(mds.ToMap()),
		memory.WithMetadataKeyIdentifiers(mds.ToKeyIdentifierMap()),
		memory.WithValidateEntry(true),
		memory.WithValidateEntryPermitZeroAAGUID(false),
		memory.WithValidateTrustAnchor(true),
		memory.WithValidateStatus(true),
	)
	if err != nil {
		return nil, err
	}
	return &Metadata{provider: p, Number: mds.Parsed.Number, NextUpdate: mds.Parsed.NextUpdate,
		Entries: len(mds.Parsed.Entries), Skipped: len(mds.Unparsed)}, nil
}

// Stale reports whether the blob is past the date FIDO said it would be
// replaced: status changes since (a model revoked) are not in it.
func (m *Metadata) Stale(now time.Time) bool { return now.After(m.NextUpdate.AddDate(0, 0, 1)) }

// verifiedTypes are the attestation types whose certificate path go-webauthn
// checked against the roots the metadata lists for the AAGUID. "self"
// (basic_surrogate) and "none" prove nothing about the model.
var verifiedTypes = map[string]bool{
	string(metadata.BasicFull): true,
	string(metadata.AttCA):     true,
	string(metadata.AnonCA):    true,
}

// conveyance is the attestation registration asks for: "direct" when a
// metadata blob can verify it, else "none" (nothing is done with it).
func (s *Service) conveyance() protocol.ConveyancePreference {
	if s.cfg.Attestation != nil {
		return protocol.PreferDirectAttestation
	}
	return protocol.PreferNoAttestation
}

// unverifiedAttestation is the refusal of a passkey whose maker the
// metadata cannot confirm, naming the provider the AAGUID claims.
func unverifiedAttestation(id []byte, detail string, err error) error {
	e := &account.Error{Code: account.EInvalidCredential, Reason: "attestation_unverified", Detail: detail, Err: err}
	if name, ok := aaguid.Lookup(id); ok {
		e.Name = name
	}
	return e
}

// checkAttestation refuses, when attestation is required, a credential
// whose attestation go-webauthn did not verify against the metadata: no
// attestation at all (synced passkeys give none), self attestation, or a
// format the library verified without a certificate path.
func (s *Service) checkAttestation(cred *webauthn.Credential) error {
	if s.cfg.Attestation == nil || verifiedTypes[cred.AttestationType] {
		return nil
	}
	return unverifiedAttestation(cred.Authenticator.AAGUID,
		fmt.Sprintf("attestation %q (format %q) is not verified by the metadata", cred.AttestationType, cred.AttestationFormat), nil)
}

// rejectRegistration is rejectCredential, except that with attestation
// required a refusal of the attestation or of the model's metadata is said
// as attestation_unverified: the member's passkey is fine, its maker is
// not one this site accepts.
func (s *Service) rejectRegistration(parsed *protocol.ParsedCredentialCreationData, err error) error {
	var pe *protocol.Error
	if s.cfg.Attestation != nil && errors.As(err, &pe) && (pe.Type == protocol.ErrInvalidAttestation.Type || pe.Type == protocol.ErrMetadata.Type) {
		return unverifiedAttestation(parsed.Response.AttestationObject.AuthData.AttData.AAGUID, "the attestation does not verify against the metadata", err)
	}
	return rejectCredential(err)
}
