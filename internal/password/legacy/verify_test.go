package legacy

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// vector is a hash made by its format's reference tool or taken from its
// documentation, with the password that made it.
type vector struct {
	name     string
	f        Format
	hash     string // as the old system stores it
	salt     string // for formats that keep it apart
	firebase *FirebaseParams
	password string
	// detected is whether Detect names f from hash alone.
	detected bool
}

// firebaseREADME are the sample project parameters of the README of
// github.com/firebase/scrypt ("Password Hashing").
var firebaseREADME = &FirebaseParams{
	SignerKey:     b64("jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="),
	SaltSeparator: b64("Bw=="),
	Rounds:        8,
	MemCost:       14,
}

// vectors, one or more per format. "Made with" rows were produced on a
// Debian 12 machine with the tools named; the others cite their document.
var vectors = []vector{
	// bcrypt. Made with htpasswd -nbB -C 5 (apache2-utils 2.4.71), pyca bcrypt
	// 3.2.2 hashpw with gensalt(rounds=4) and gensalt(rounds=4, prefix=b"2a"),
	// and Django 3.2.25 make_password(…, hasher="bcrypt") with
	// BCryptPasswordHasher.rounds = 4. Costs are low to keep the race-enabled
	// test quick; the cost is an input like any other.
	{"bcrypt $2y$ from htpasswd", Bcrypt, "$2y$05$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi", "", nil, "Tr0ub4dor&3", true},
	{"bcrypt $2b$ from pyca bcrypt", Bcrypt, "$2b$04$Se7hpdAD9s3pG5cHrz79JeW1FMBjLT/.q2ad7keJ9pFLYTTZzowIG", "", nil, "Tr0ub4dor&3", true},
	{"bcrypt $2a$ from pyca bcrypt", Bcrypt, "$2a$04$oLG2.ZhlUgCLa92qpD59HOiBnDfFInOf.WreAYtpe/RMpRXwYa4Aq", "", nil, "Tr0ub4dor&3", true},
	// WordPress 6.8+: wp_hash_password's bcrypt branch (wp-includes/pluggable.php)
	// run by PHP 8.2.36: '$wp' . password_hash(base64_encode(hash_hmac('sha384',
	// trim(PW), 'wp-sha384', true)), PASSWORD_BCRYPT, ['cost' => 4]).
	{"wordpress-bcrypt from WordPress 6.8's wp_hash_password", WordPressBcrypt, "$wp$2y$04$vKUQIvFsZ7RM9rbLkhQW5eyEf3LjUK5ZOMlG8L5ZACMaw4cIXsiy6", "", nil, "Tr0ub4dor&3", true},
	{"bcrypt in Django's wrapping", Bcrypt, "bcrypt$$2b$04$9WhDb070x/SbQBZSxNgkueVsByhaNjNZQHhZ3qwps2iqi8MueG39y", "", nil, "Tr0ub4dor&3", true},

	// Argon2. Made with the reference tool (argon2 0~20171227):
	// printf %s PW | argon2 saltsaltsalt -id -t 2 -m 10 -p 1 -e, and -i -t 3 -m 12 -p 2;
	// and Django 3.2.25 make_password(…, hasher="argon2") with argon2-cffi
	// and Argon2PasswordHasher time_cost=1, memory_cost=256, parallelism=2.
	{"argon2id from the reference tool", Argon2id, "$argon2id$v=19$m=1024,t=2,p=1$c2FsdHNhbHRzYWx0$OGEXXRc1mYpG0vc6ApfTOL4FDJhnUyz8rHZ8KWF8nzA", "", nil, "Tr0ub4dor&3", true},
	{"argon2i from the reference tool", Argon2i, "$argon2i$v=19$m=4096,t=3,p=2$c2FsdHNhbHRzYWx0$F7XyVSDk6+4zcXz+MWvop5mj8/0fsh7ykZnHSAhh2Qo", "", nil, "Tr0ub4dor&3", true},
	{"argon2id in Django's wrapping", Argon2id, "argon2$argon2id$v=19$m=256,t=1,p=2$bkFjRE94bmZXdE55R3ZhUU5OUEhzeg$6MiWnaw5H1uPDxG0S5zm+Q", "", nil, "Tr0ub4dor&3", true},

	// scrypt. Made with passlib 1.7.4 scrypt.using(rounds=10, block_size=8,
	// parallelism=1); Django's own test (tests/auth_tests/test_hashers.py,
	// TestUtilsHashPassScrypt, Django 4.0+).
	{"scrypt PHC from passlib", Scrypt, "$scrypt$ln=10,r=8,p=1$J6SUEgIAwPh/rxWC0Jqzlg$lBztq7jlYrdCgXsy20kbYbq3lotxpOp78GqJDbSBn20", "", nil, "Tr0ub4dor&3", true},
	{"scrypt from Django's test suite", Scrypt, "scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==", "", nil, "lètmein", true},

	// PBKDF2. Made with Django 3.2.25 make_password (hashers pbkdf2_sha256,
	// pbkdf2_sha1, with the hashers' iterations set to 1,000) and passlib 1.7.4
	// pbkdf2_sha1/sha256/sha512.using(rounds=1000).
	{"pbkdf2-sha256 from Django", PBKDF2SHA256, "pbkdf2_sha256$1000$3FWYnhX7HYmtBwpftYa8Iq$Pe9rkjCh1XPyFUtPwSPDQ+ox3llupMdAlQknyi9+BFg=", "", nil, "Tr0ub4dor&3", true},
	{"pbkdf2-sha1 from Django", PBKDF2SHA1, "pbkdf2_sha1$1000$JuiyAcfuuLFWLLzpzXil9a$Y833BzraEi7ww1jbz57g+kCKv9w=", "", nil, "Tr0ub4dor&3", true},
	{"pbkdf2-sha1 from passlib", PBKDF2SHA1, "$pbkdf2$1000$oDTGGIOw1joHIAQAoBSiFA$JuX9Z3j2IVyJtpjAV1lEeNIZKvI", "", nil, "Tr0ub4dor&3", true},
	{"pbkdf2-sha256 from passlib", PBKDF2SHA256, "$pbkdf2-sha256$1000$ZkwpZYxxzjlnDGHMWWstxQ$NHtado5qRHSBOcmwwQakR8gUsvd6a1XssADKXCICPsw", "", nil, "Tr0ub4dor&3", true},
	{"pbkdf2-sha512 from passlib", PBKDF2SHA512, "$pbkdf2-sha512$1000$j9F6z5kTolSq1dr73/t/7w$1.jw8AFuAoqpkxdKtihTfL4L1zGMjCkMQVTJA39SkC3NbUoUP3ugZuCXHmxF2XeOjfM04zqw3eHgj7WGR5SFyA", "", nil, "Tr0ub4dor&3", true},

	// Firebase scrypt: the auth:export row and hash parameters of the README
	// of github.com/firebase/scrypt.
	{"firebase-scrypt from the Firebase README", FirebaseScrypt, "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", "42xEC+ixf3L2lw==", firebaseREADME, "user1password", false},

	// PHPass. The known hash of phpass 0.3's test.php (Openwall), also in
	// passlib's test suite; made with passlib 1.7.4 phpass.using(ident="H",
	// rounds=11) for phpBB's $H$.
	{"phpass $P$ from phpass test.php", PHPass, "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "", nil, "test12345", true},
	{"phpass $P$ at WordPress's count from passlib", PHPass, "$P$BwlEnoMBt5C/nxT3VH40gUjQO/Y4OE1", "", nil, "Tr0ub4dor&3", true},
	{"phpass $H$ from passlib", PHPass, "$H$9JmMBgOL..JFM7gSx7zhRnsbovtUA20", "", nil, "Tr0ub4dor&3", true},

	// MD5-crypt. Made with openssl passwd -1 -salt saltstri password (OpenSSL
	// 3.0.19), mkpasswd -m md5crypt -S 8charsal (whois 5.5.17) and htpasswd
	// -nbm; the decomposed "cafe\u0301" with libxcrypt's crypt(3) (Python
	// 3.11 crypt.crypt).
	{"md5-crypt from openssl", MD5Crypt, "$1$saltstri$qQY4WxjABChYG1ccLpfkz/", "", nil, "password", true},
	{"md5-crypt from mkpasswd", MD5Crypt, "$1$8charsal$UFBvV5nTBtQX1BLN7x4EC0", "", nil, "Tr0ub4dor&3", true},
	{"apr1 from htpasswd", MD5Crypt, "$apr1$DgrP.yGn$2vr.DR.cvo1ytPuzPsnJ5.", "", nil, "Tr0ub4dor&3", true},
	{"md5-crypt of unnormalised bytes from crypt(3)", MD5Crypt, "$1$cafesalt$pHDzoca7rqtJ4y6W7yDVB/", "", nil, "cafe\u0301", true},

	// SHA-crypt. Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512",
	// test vectors (the rounds=10 ones show the clamp to 1,000; libxcrypt
	// now refuses them, glibc clamps); made with mkpasswd -m sha-256 -S
	// saltstring -R 10000 and -m sha-512 -S sa1t/Str.ng -R 1000, and openssl
	// passwd -5 -salt xsaltx.
	{"sha256-crypt from Drepper's specification", SHA256Crypt, "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "", nil, "Hello world!", true},
	{"sha256-crypt with rounds from Drepper's specification", SHA256Crypt, "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "", nil, "Hello world!", true},
	{"sha256-crypt with rounds below the minimum from Drepper's specification", SHA256Crypt, "$5$rounds=10$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC", "", nil, "the minimum number is still observed", true},
	{"sha256-crypt from mkpasswd", SHA256Crypt, "$5$rounds=10000$saltstring$.mmEGyXIlmJcpo9s.qGUGkt3VNXxNLHkCDLO3ESoJdC", "", nil, "Tr0ub4dor&3", true},
	{"sha256-crypt from openssl", SHA256Crypt, "$5$xsaltx$qEND8bi7Gc5sB5IetIXgJmajtNqVXqTqDKYfj46tTv0", "", nil, "Tr0ub4dor&3", true},
	{"sha512-crypt from Drepper's specification", SHA512Crypt, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "", nil, "Hello world!", true},
	{"sha512-crypt with a long password from Drepper's specification", SHA512Crypt, "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1", "", nil, "a very much longer text to encrypt.  This one even stretches over morethan one line.", true},
	{"sha512-crypt with rounds below the minimum from Drepper's specification", SHA512Crypt, "$6$rounds=10$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.", "", nil, "the minimum number is still observed", true},
	{"sha512-crypt from mkpasswd", SHA512Crypt, "$6$rounds=1000$sa1t/Str.ng$wo4oytbsL10Y9kqEFDbh2WOdPZXwlRHscDllmJcNACZkrTkDfjz8L2GJcQIh0AHx7ZZGoXrjWMS455.udhi/A/", "", nil, "Tr0ub4dor&3", true},
	{"sha512-crypt from openssl", SHA512Crypt, "$6$saltstring$adDbXsJjcDlq2662QPgd.tkSOVmnG9Tt3oXl4HR60SusC3AGjirnDenVZp3DGwLwqy6iYKCzannhaX9DR72nN1", "", nil, "password", true},

	// Hex digests. Made with GNU coreutils 9.1 md5sum, sha1sum and sha256sum
	// of printf %s PW, of printf %s 's4lt!PW' (prefix) and of printf %s
	// 'PWs4lt!' (suffix); the upper-case one is the same MD5 as a system
	// that printed its digests in capitals would store it.
	{"md5 from md5sum", MD5, "4ece57a61323b52ccffdbef021956754", "", nil, "Tr0ub4dor&3", true},
	{"md5 in upper case", MD5, "4ECE57A61323B52CCFFDBEF021956754", "", nil, "Tr0ub4dor&3", true},
	{"sha1 from sha1sum", SHA1, "874572e7a5ae6a49466a6ac578b98adba78c6aa6", "", nil, "Tr0ub4dor&3", true},
	{"sha256 from sha256sum", SHA256, "48486e1514e842346ff405b1e45f44059ae82619f2306f99d0940dcb386e91f7", "", nil, "Tr0ub4dor&3", true},
	{"md5 of salt then password from md5sum", SaltedMD5Prefix, "769f01108adbeffa61806fd804ce3b9a", "s4lt!", nil, "Tr0ub4dor&3", false},
	{"md5 of password then salt from md5sum", SaltedMD5Suffix, "781f276309eb7c443f9f738410f3deff", "s4lt!", nil, "Tr0ub4dor&3", false},
	{"sha1 of salt then password from sha1sum", SaltedSHA1Prefix, "2f1c2a5b47149d225f019b175684c437b106f368", "s4lt!", nil, "Tr0ub4dor&3", false},
	{"sha1 of password then salt from sha1sum", SaltedSHA1Suffix, "034775009c7882d1f4a5b208d96cbc7490e5e0ca", "s4lt!", nil, "Tr0ub4dor&3", false},
	{"sha256 of salt then password from sha256sum", SaltedSHA256Prefix, "b7f1dd7672c44e7ebb8a04444abaf026afb0e33655eb6edbfa56e382158f9e84", "s4lt!", nil, "Tr0ub4dor&3", false},
	{"sha256 of password then salt from sha256sum", SaltedSHA256Suffix, "1edd6db879c89385fc9d747552a376a1c1ab0abdddb18a38b426993e2facb5c5", "s4lt!", nil, "Tr0ub4dor&3", false},
}

func TestVerifyReferenceVectors(t *testing.T) {
	t.Parallel()
	seen := map[Format]bool{}
	for _, v := range vectors {
		seen[v.f] = true
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			stored, err := Compose(v.f, v.hash, v.salt, Options{Firebase: v.firebase})
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			if ok, err := Verify(v.f, stored, []byte(v.password)); !ok || err != nil {
				t.Errorf("Verify(right password) = %v, %v; want true", ok, err)
			}
			if ok, err := Verify(v.f, stored, []byte(wrong(v.password))); ok || err != nil {
				t.Errorf("Verify(%q) = %v, %v; want false", wrong(v.password), ok, err)
			}
		})
	}
	for _, f := range Formats {
		if !seen[f] {
			t.Errorf("no reference vector for %s", f)
		}
	}
}

// wrong changes the last byte of a password, so the wrong password differs
// where every format still reads it (bcrypt stops at 72 bytes).
func wrong(pw string) string {
	b := []byte(pw)
	b[len(b)-1] ^= 1
	return string(b)
}

func TestDetectNamesTheFormatOfEachVector(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		got, err := Detect(v.hash)
		switch {
		case v.detected && (got != v.f || err != nil):
			t.Errorf("%s: Detect = %q, %v; want %q", v.name, got, err, v.f)
		case !v.detected && err == nil && got == v.f:
			t.Errorf("%s: Detect = %q, but the format cannot be told from the hash", v.name, got)
		}
	}
}

func TestDetectRefusesWhatItCannotTell(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, hash, want string
	}{
		{"an empty hash", "", "give password_format"},
		{"a Firebase hash, which is plain base64", "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", "give password_format"},
		{"hex of a length no digest has", "4ece57a61323b52ccffdbef02195675", "give password_format"},
		{"bcrypt's buggy $2x$", "$2x$05$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi", "not supported"},
		{"Django's bcrypt_sha256", "bcrypt_sha256$$2b$12$55V2hVCn50Zdn7PdgLRiJ.OjLRzLeoxEOkPbpcrz9qzoM.zTRF4DC", "not supported"},
		{"yescrypt", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7", "not supported"},
	}
	for _, tt := range tests {
		got, err := Detect(tt.hash)
		if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Detect(%s) = %q, %v; want an ErrUnknownFormat saying %q", tt.name, got, err, tt.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for _, f := range Formats {
		if got, err := ParseFormat(strings.ToUpper(string(f))); got != f || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v", strings.ToUpper(string(f)), got, err)
		}
	}
	tests := []struct {
		name string
		want Format
	}{
		{"django", PBKDF2SHA256}, {" Django ", PBKDF2SHA256}, {"pbkdf2_sha1", PBKDF2SHA1},
		{"wp_bcrypt", WordPressBcrypt}, {"phpBB", PHPass}, {"firebase", FirebaseScrypt},
		{"apr1", MD5Crypt}, {"sha512_crypt", SHA512Crypt}, {"md5_salt_prefix", SaltedMD5Prefix},
		{"SHA-256", SHA256}, {"argon2", Argon2id},
	}
	for _, tt := range tests {
		if got, err := ParseFormat(tt.name); got != tt.want || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	for _, name := range []string{"", "passlib", "wordpress", "crypt", "salted-md5", "sha512", "ntlm", "bcrypt_sha256"} {
		if got, err := ParseFormat(name); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("ParseFormat(%q) = %q, %v; want ErrUnknownFormat", name, got, err)
		}
	}
}

// Export writes stored strings with their format and no salt; importing
// them again must give the very same strings.
func TestComposeIsIdempotentOnItsOutput(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		first, err := Compose(v.f, v.hash, v.salt, Options{Firebase: v.firebase})
		if err != nil {
			t.Fatalf("%s: Compose: %v", v.name, err)
		}
		for _, opt := range []Options{{}, {Firebase: v.firebase}} {
			again, err := Compose(v.f, first, "", opt)
			if err != nil || again != first {
				t.Errorf("%s: Compose(its own output) = %q, %v; want %q", v.name, again, err, first)
			}
		}
	}
}

func TestComposeFoldsSaltAndParameters(t *testing.T) {
	t.Parallel()
	got, err := Compose(SaltedMD5Prefix, "769F01108ADBEFFA61806FD804CE3B9A", "a$salt with $ in it", Options{})
	if want := "769f01108adbeffa61806fd804ce3b9a$a$salt with $ in it"; got != want || err != nil {
		t.Errorf("salted digest: Compose = %q, %v; want %q", got, err, want)
	}
	// The README's export without padding on the salt, as a CSV tool may
	// leave it, composes to the padded spelling.
	got, err = Compose(FirebaseScrypt, "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", "42xEC+ixf3L2lw", Options{Firebase: firebaseREADME})
	want := "$firebase-scrypt$m=14,r=8$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="
	if got != want || err != nil {
		t.Errorf("firebase: Compose = %q, %v; want %q", got, err, want)
	}
}

func TestComposeRefusesIncompleteRows(t *testing.T) {
	t.Parallel()
	other := *firebaseREADME
	other.Rounds = 4
	composedFB, _ := Compose(FirebaseScrypt, "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", "42xEC+ixf3L2lw==", Options{Firebase: firebaseREADME})
	tests := []struct {
		name       string
		f          Format
		hash, salt string
		opt        Options
		want       string
	}{
		{"a salted digest without its salt", SaltedSHA1Prefix, "2f1c2a5b47149d225f019b175684c437b106f368", "", Options{}, "needs password_salt"},
		{"a composed salted digest with a second salt", SaltedSHA1Prefix, "2f1c2a5b47149d225f019b175684c437b106f368$s4lt!", "s4lt!", Options{}, "set too"},
		{"a salt for a format that carries its own", Bcrypt, "$2y$05$bOvTpTACU36668qaq7okAu4juHzacUhXzxyNIB0UZ12wC4emoJYfi", "pepper", Options{}, "carry their own"},
		{"Firebase without project parameters", FirebaseScrypt, "lSrfV15cpx95", "42xEC+ixf3L2lw==", Options{}, "hash parameters"},
		{"Firebase without a salt", FirebaseScrypt, "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", "", Options{Firebase: firebaseREADME}, "needs password_salt"},
		{"Firebase with a hash that is not base64", FirebaseScrypt, "not base64!", "42xEC+ixf3L2lw==", Options{Firebase: firebaseREADME}, "not standard base64"},
		{"Firebase with a memory cost past the bound", FirebaseScrypt, "lSrfV15cpx95", "42xEC+ixf3L2lw==", Options{Firebase: &FirebaseParams{SignerKey: []byte("k"), Rounds: 8, MemCost: 24}}, "MiB"},
		{"a composed Firebase hash with other project parameters", FirebaseScrypt, composedFB, "", Options{Firebase: &other}, "other project parameters"},
		{"a hash that fails Check", PHPass, "$P$short", "", Options{}, "34 in all"},
	}
	for _, tt := range tests {
		got, err := Compose(tt.f, tt.hash, tt.salt, tt.opt)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Compose(%s) = %q, %v; want ErrMalformed saying %q", tt.name, got, err, tt.want)
		}
	}
}

// Check refuses malformed rows and costs that would let one row take
// minutes or gigabytes, before any hashing.
func TestCheckRefusesBadAndHostileRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		f      Format
		stored string
		want   string
	}{
		{"an empty hash", Bcrypt, "", "empty"},
		{"a huge hash", SHA256, strings.Repeat("a", 5000), "longer than"},
		{"an unknown format", Format("md4"), "x", "unknown hash format"},
		{"bcrypt cost 31", Bcrypt, "$2b$31$Se7hpdAD9s3pG5cHrz79JeW1FMBjLT/.q2ad7keJ9pFLYTTZzowIG", "cost 31 outside"},
		{"bcrypt cost 16", Bcrypt, "$2b$16$Se7hpdAD9s3pG5cHrz79JeW1FMBjLT/.q2ad7keJ9pFLYTTZzowIG", "cost 16 outside"},
		{"bcrypt cost not digits", Bcrypt, "$2b$x4$Se7hpdAD9s3pG5cHrz79JeW1FMBjLT/.q2ad7keJ9pFLYTTZzowIG", "two digits"},
		{"bcrypt truncated", Bcrypt, "$2b$04$Se7hpdAD9s3pG5cHrz79JeW1FMBjLT/.q2ad7keJ9pFLYTTZzowI", "60 characters"},
		{"wordpress-bcrypt without its prefix", WordPressBcrypt, "$2y$04$vKUQIvFsZ7RM9rbLkhQW5eyEf3LjUK5ZOMlG8L5ZACMaw4cIXsiy6", "want $wp$"},
		{"wordpress-bcrypt with cost 31", WordPressBcrypt, "$wp$2y$31$vKUQIvFsZ7RM9rbLkhQW5eyEf3LjUK5ZOMlG8L5ZACMaw4cIXsiy6", "cost 31 outside"},
		{"bcrypt $2x$", Bcrypt, "$2x$04$Se7hpdAD9s3pG5cHrz79JeW1FMBjLT/.q2ad7keJ9pFLYTTZzowIG", "want $2a$"},
		{"bcrypt outside its alphabet", Bcrypt, "$2b$04$Se7hpdAD9s3pG5cHrz79JeW1FMBjLT/+q2ad7keJ9pFLYTTZzowIG", "alphabet"},
		{"argon2id with 4 GiB", Argon2id, "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$OGEXXRc1mYpG0vc6ApfTOL4FDJhnUyz8rHZ8KWF8nzA", "outside"},
		{"argon2id with 1000 passes", Argon2id, "$argon2id$v=19$m=1024,t=1000,p=1$c2FsdHNhbHRzYWx0$OGEXXRc1mYpG0vc6ApfTOL4FDJhnUyz8rHZ8KWF8nzA", "t=1000 outside"},
		{"argon2id with 256 MiB and 5 passes", Argon2id, "$argon2id$v=19$m=262144,t=5,p=1$c2FsdHNhbHRzYWx0$OGEXXRc1mYpG0vc6ApfTOL4FDJhnUyz8rHZ8KWF8nzA", "KiB-passes"},
		{"argon2 version 1.0", Argon2id, "$argon2id$m=1024,t=2,p=1$c2FsdHNhbHRzYWx0$OGEXXRc1mYpG0vc6ApfTOL4FDJhnUyz8rHZ8KWF8nzA", "want $argon2id$"},
		{"argon2i stored as argon2id", Argon2id, "$argon2i$v=19$m=4096,t=3,p=2$c2FsdHNhbHRzYWx0$F7XyVSDk6+4zcXz+MWvop5mj8/0fsh7ykZnHSAhh2Qo", "algorithm"},
		{"argon2 with a short salt", Argon2id, "$argon2id$v=19$m=1024,t=2,p=1$c2FsdA$OGEXXRc1mYpG0vc6ApfTOL4FDJhnUyz8rHZ8KWF8nzA", "at least 8"},
		{"argon2 with a leading zero", Argon2id, "$argon2id$v=19$m=01024,t=2,p=1$c2FsdHNhbHRzYWx0$OGEXXRc1mYpG0vc6ApfTOL4FDJhnUyz8rHZ8KWF8nzA", "leading zero"},
		{"scrypt with 2^30", Scrypt, "$scrypt$ln=30,r=8,p=1$J6SUEgIAwPh/rxWC0Jqzlg$lBztq7jlYrdCgXsy20kbYbq3lotxpOp78GqJDbSBn20", "MiB"},
		{"scrypt with p=1000", Scrypt, "$scrypt$ln=14,r=8,p=1000$J6SUEgIAwPh/rxWC0Jqzlg$lBztq7jlYrdCgXsy20kbYbq3lotxpOp78GqJDbSBn20", "N·r·p"},
		{"Django scrypt with N not a power of two", Scrypt, "scrypt$1000$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==", "power of two"},
		{"scrypt in no known shape", Scrypt, "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D", "want $scrypt$"},
		{"pbkdf2 with 3,000,001 iterations", PBKDF2SHA256, "pbkdf2_sha256$3000001$y6gMATHlf1rNimlzvxVON9$dhh94Xqms24DmPW+BfiMFHSYBGt1g3ltA5XgMGkLdlU=", "above"},
		{"pbkdf2 with a billion iterations", PBKDF2SHA256, "pbkdf2_sha256$1000000000$y6gMATHlf1rNimlzvxVON9$dhh94Xqms24DmPW+BfiMFHSYBGt1g3ltA5XgMGkLdlU=", "above"},
		{"pbkdf2 with zero iterations", PBKDF2SHA256, "pbkdf2_sha256$0$y6gMATHlf1rNimlzvxVON9$dhh94Xqms24DmPW+BfiMFHSYBGt1g3ltA5XgMGkLdlU=", "positive"},
		{"pbkdf2 of another digest", PBKDF2SHA256, "pbkdf2_sha1$260000$1wx3qnTVdYc0nOb9OWvMEg$2i7dI42OC5ESUVuAU0hs5NSFNhs=", "want pbkdf2_sha256$"},
		{"pbkdf2 with a broken hash", PBKDF2SHA256, "pbkdf2_sha256$260000$salt$***", "base64"},
		{"phpass with 2^30 iterations", PHPass, "$P$SIQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "2^30"},
		{"phpass with 2^23 iterations", PHPass, "$P$LIQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "2^23"},
		{"phpass with an impossible count", PHPass, "$P$!IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "2^-1"},
		{"md5-crypt with a long salt", MD5Crypt, "$1$toolongsalt$qQY4WxjABChYG1ccLpfkz/", "at most 8"},
		{"md5-crypt with a short hash", MD5Crypt, "$1$saltstri$qQY4WxjABChYG1ccLpfkz", "22 crypt"},
		{"sha512-crypt with a billion rounds", SHA512Crypt, "$6$rounds=999999999$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "above"},
		{"sha256-crypt with rounds not a number", SHA256Crypt, "$5$rounds=lots$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "not a decimal"},
		{"sha256-crypt with a 17-byte salt", SHA256Crypt, "$5$saltstringsaltstr$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "at most 16"},
		{"sha256-crypt stored as sha512-crypt", SHA512Crypt, "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "want $6$"},
		{"md5 that is not hex", MD5, "4ece57a61323b52ccffdbef02195675g", "32 hex"},
		{"sha1 of the wrong length", SHA1, "4ece57a61323b52ccffdbef021956754", "40 hex"},
		{"a salted digest with an empty salt", SaltedMD5Suffix, "781f276309eb7c443f9f738410f3deff$", "empty salt"},
		{"a salted digest without its salt", SaltedMD5Suffix, "781f276309eb7c443f9f738410f3deff", "no '$'"},
		{"firebase not composed", FirebaseScrypt, "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", "firebase options"},
		{"firebase with a hash shorter than the key", FirebaseScrypt, "$firebase-scrypt$m=14,r=8$Bw==$a2V5a2V5a2V5$c2FsdA==$aGFzaA==", "encrypted key"},
	}
	for _, tt := range tests {
		err := Check(tt.f, tt.stored)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%s) = %v; want an error saying %q", tt.name, err, tt.want)
			continue
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Check(%s) = %v; want it to wrap ErrMalformed", tt.name, err)
		}
		if ok, verr := Verify(tt.f, tt.stored, []byte("x")); ok || verr == nil {
			t.Errorf("Verify(%s) = %v, %v; want false and the Check error", tt.name, ok, verr)
		}
	}
}

func TestWeak(t *testing.T) {
	t.Parallel()
	weak := map[Format]bool{
		MD5: true, SHA1: true, SHA256: true, SaltedMD5Prefix: true, SaltedMD5Suffix: true,
		SaltedSHA1Prefix: true, SaltedSHA1Suffix: true, SaltedSHA256Prefix: true, SaltedSHA256Suffix: true,
		MD5Crypt: true, PHPass: true,
	}
	for _, f := range Formats {
		if f.Weak() != weak[f] {
			t.Errorf("%s.Weak() = %v, want %v", f, f.Weak(), weak[f])
		}
	}
	tests := []struct {
		name   string
		f      Format
		stored string
		want   bool
	}{
		{"passlib pbkdf2 at 1,000 iterations", PBKDF2SHA256, "$pbkdf2-sha256$1000$ZkwpZYxxzjlnDGHMWWstxQ$NHtado5qRHSBOcmwwQakR8gUsvd6a1XssADKXCICPsw", true},
		{"Django pbkdf2 at 260,000 iterations", PBKDF2SHA256, "pbkdf2_sha256$260000$y6gMATHlf1rNimlzvxVON9$dhh94Xqms24DmPW+BfiMFHSYBGt1g3ltA5XgMGkLdlU=", false},
		{"bcrypt cost 4", Bcrypt, "$2b$04$Se7hpdAD9s3pG5cHrz79JeW1FMBjLT/.q2ad7keJ9pFLYTTZzowIG", true},
		{"bcrypt cost 12 (Django's default)", Bcrypt, "bcrypt$$2b$12$55V2hVCn50Zdn7PdgLRiJ.OjLRzLeoxEOkPbpcrz9qzoM.zTRF4DC", false},
		{"sha256-crypt at the clamp", SHA256Crypt, "$5$rounds=10$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC", true},
		{"sha512-crypt at the default", SHA512Crypt, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", false},
		{"md5", MD5, "4ece57a61323b52ccffdbef021956754", true},
		{"argon2id", Argon2id, "$argon2id$v=19$m=1024,t=2,p=1$c2FsdHNhbHRzYWx0$OGEXXRc1mYpG0vc6ApfTOL4FDJhnUyz8rHZ8KWF8nzA", false},
	}
	for _, tt := range tests {
		if got := WeakHash(tt.f, tt.stored); got != tt.want {
			t.Errorf("WeakHash(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Legacy systems hashed the bytes members typed; keyshift must not
// normalise them before comparing (the decomposed é of a vector above).
func TestVerifyComparesRawBytes(t *testing.T) {
	t.Parallel()
	ok, err := Verify(MD5Crypt, "$1$cafesalt$pHDzoca7rqtJ4y6W7yDVB/", []byte("café"))
	if ok || err != nil {
		t.Errorf("Verify(precomposed é against a hash of e + combining accent) = %v, %v; want false", ok, err)
	}
}

// bcrypt implementations read only the first 72 bytes; a member whose
// password was longer typed what they always typed.
func TestBcryptReadsSeventyTwoBytes(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("0123456789", 8) // 80 bytes
	stored := "$2b$04$Se7hpdAD9s3pG5cHrz79JeW1FMBjLT/.q2ad7keJ9pFLYTTZzowIG"
	if ok, _ := Verify(Bcrypt, stored, []byte(long)); ok {
		t.Fatal("an unrelated password verified")
	}
	h, _ := parseBcrypt(stored)
	if h.verify([]byte(long)) != h.verify([]byte(long[:72])) {
		t.Error("bytes after the 72nd changed the answer")
	}
}

func b64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// SHA-crypt's work grows with the square of the password's length: a
// password past MaxPassword is refused before hashing, whatever the format.
func TestVerifyRefusesOverlongPasswords(t *testing.T) {
	t.Parallel()
	pw := strings.Repeat("x", MaxPassword+1)
	for _, v := range vectors {
		stored, _ := Compose(v.f, v.hash, v.salt, Options{Firebase: v.firebase})
		ok, err := Verify(v.f, stored, []byte(pw))
		if ok || err != nil {
			t.Errorf("%s: Verify(%d bytes) = %v, %v; want false", v.name, len(pw), ok, err)
		}
	}
}
