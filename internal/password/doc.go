// Package password hashes and verifies member passwords and decides which
// passwords keyshift accepts.
//
// # Hashing
//
// Passwords are hashed with Argon2id (RFC 9106) and stored in the PHC string
// format used by the reference argon2 tool and libsodium:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in standard base64 without padding. The parameters travel
// with every hash, so they can be raised later: [Hasher.Verify] reports
// needsRehash when a stored hash was made with other parameters, and the caller
// re-hashes the password it has just verified.
//
// Argon2id is memory-hard on purpose, which makes it a denial-of-service lever:
// at OWASP's minimum (19 MiB per hash) 256 concurrent sign-ins use about 5 GB.
// Every hash therefore passes through a [Gate] that lets a fixed number run at
// once, queues a burst briefly and then refuses with a [BusyError] the HTTP
// layer turns into 429 and Retry-After. Stored hashes with absurd parameters
// are refused before any memory is allocated, so a corrupted or hostile row
// cannot exhaust memory either.
//
// # Normalisation
//
// NIST SP 800-63B section 5.1.1.2 suggests applying Unicode normalisation to
// passwords before hashing, so that the same password typed on two keyboards
// (a precomposed "é" or "e" plus a combining accent, the "ﬁ" ligature or "fi")
// verifies either way. Hash, Verify and Check all apply NFKC first. An
// Argon2id hash imported from another system was made from the raw bytes, so
// when the normalised password does not match and NFKC changed it, Verify
// tries the raw bytes as well (and asks for a rehash when they match);
// VerifyDummy does the same second hash, so its time still matches.
//
// # Imported hashes
//
// Members imported from other systems keep their old hashes (bcrypt, scrypt,
// PBKDF2, PHPass, SHA-crypt and others: package legacy) with the format
// recorded beside them. [Hasher.Verify] checks those on the raw password
// bytes, through the same gate, and always asks for a rehash, so the first
// successful sign-in replaces them with Argon2id.
//
// # Policy
//
// [Check] follows NIST SP 800-63B section 5.1.1.2: a length floor and ceiling,
// a blocklist of commonly used passwords, no repetitive or sequential strings,
// nothing derived from the account's email address, and no composition rules
// (no "must contain a digit and a symbol"), which NIST advises against because
// they push people towards predictable patterns.
package password
