package userfile

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// item is what one Next call gave, for comparing whole streams.
type item struct {
	Line   int
	Offset int64
	Email  string // of a row
	Reason string // of a row error
}

func readAll(t *testing.T, f Format, text string, opts Options) []item {
	t.Helper()
	r, err := NewReader(strings.NewReader(text), f, opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var out []item
	for {
		rec, err := r.Next()
		var re *RowError
		switch {
		case errors.Is(err, io.EOF):
			return out
		case errors.As(err, &re):
			out = append(out, item{Line: re.Line, Offset: re.Offset, Reason: re.Reason})
		case err != nil:
			t.Fatalf("Next: %v", err)
		default:
			out = append(out, item{Line: rec.Line, Offset: rec.Offset, Email: rec.Row.Email})
		}
	}
}

func TestReadJSONLines(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []item
	}{
		{"reads rows with their lines and the offsets past them",
			"{\"email\":\"a@x.org\"}\n{\"email\":\"b@x.org\"}\n",
			[]item{{1, 20, "a@x.org", ""}, {2, 40, "b@x.org", ""}}},
		{"reads a last line without a line break",
			"{\"email\":\"a@x.org\"}\n{\"email\":\"b@x.org\"}",
			[]item{{1, 20, "a@x.org", ""}, {2, 39, "b@x.org", ""}}},
		{"takes CRLF line breaks and a byte-order mark",
			"\xef\xbb\xbf{\"email\":\"a@x.org\"}\r\n{\"email\":\"b@x.org\"}\r\n",
			[]item{{1, 24, "a@x.org", ""}, {2, 45, "b@x.org", ""}}},
		{"skips blank lines but counts them",
			"\n  \n{\"email\":\"a@x.org\"}\n\n",
			[]item{{3, 24, "a@x.org", ""}}},
		{"rejects a line that is not JSON and reads on",
			"nope\n{\"email\":\"a@x.org\"}\n",
			[]item{{1, 5, "", ReasonMalformed}, {2, 25, "a@x.org", ""}}},
		{"rejects a misspelt field name",
			"{\"email\":\"a@x.org\",\"pasword_hash\":\"x\"}\n{\"email\":\"b@x.org\"}\n",
			[]item{{1, 39, "", ReasonUnknownField}, {2, 59, "b@x.org", ""}}},
		{"rejects two values on one line",
			"{\"email\":\"a@x.org\"} {\"email\":\"b@x.org\"}\n",
			[]item{{1, 40, "", ReasonMalformed}}},
		{"rejects a value of the wrong type",
			"{\"email\":\"a@x.org\",\"email_verified\":\"yes\"}\n",
			[]item{{1, 43, "", ReasonMalformed}}},
		{"rejects a time that is not RFC 3339",
			"{\"email\":\"a@x.org\",\"created_at\":\"2024-01-02\"}\n",
			[]item{{1, 46, "", ReasonMalformed}}},
		{"rejects a negative sign count",
			"{\"email\":\"a@x.org\",\"passkeys\":[{\"credential_id\":\"AA\",\"public_key\":\"AA\",\"sign_count\":-1}]}\n",
			[]item{{1, 90, "", ReasonMalformed}}},
		{"rejects an array instead of an object",
			"[1,2]\n",
			[]item{{1, 6, "", ReasonMalformed}}},
		// encoding/json would read both addresses as "ad\uFFFDa@x.org": one
		// account for two legacy members.
		{"rejects lines that are not UTF-8 instead of repairing them",
			"{\"email\":\"ad\xffa@x.org\"}\n{\"email\":\"ad\xfea@x.org\"}\n{\"email\":\"a@x.org\",\"name\":\"\xc3\"}\n",
			[]item{{1, 23, "", ReasonMalformed}, {2, 46, "", ReasonMalformed}, {3, 77, "", ReasonMalformed}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readAll(t, JSONLines, tt.text, Options{}); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadDecodesEveryField(t *testing.T) {
	line := `{"email":"ada@example.com","email_verified":true,"external_id":"legacy-42","name":"Ada",` +
		`"created_at":"2020-01-02T03:04:05Z","password_hash":"$2b$10$x","password_format":"bcrypt","password_salt":"s",` +
		`"passkeys":[{"credential_id":"AQID","public_key":"pQ","sign_count":7,"aaguid":"ee882879-721c-4913-9775-3dfcce97072a",` +
		`"transports":["internal","hybrid"],"user_handle":"dXNlcg","backup_eligible":true,"backup_state":true,` +
		`"name":"Phone","attachment":"platform","created_at":"2021-01-01T00:00:00Z","last_used_at":"2022-01-01T00:00:00+02:00"}]}`
	csvText := "email,email_verified,external_id,name,created_at,password_hash,password_format,password_salt,passkeys\n" +
		`ada@example.com,true,legacy-42,Ada,2020-01-02T03:04:05Z,$2b$10$x,bcrypt,s,"[{""credential_id"":""AQID"",""public_key"":""pQ"",` +
		`""sign_count"":7,""aaguid"":""ee882879-721c-4913-9775-3dfcce97072a"",""transports"":[""internal"",""hybrid""],""user_handle"":""dXNlcg"",` +
		`""backup_eligible"":true,""backup_state"":true,""name"":""Phone"",""attachment"":""platform"",""created_at"":""2021-01-01T00:00:00Z"",` +
		`""last_used_at"":""2022-01-01T00:00:00+02:00""}]"` + "\n"
	at := func(s string) *time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &tm
	}
	want := Row{Email: "ada@example.com", EmailVerified: true, ExternalID: "legacy-42", Name: "Ada",
		CreatedAt: at("2020-01-02T03:04:05Z"), PasswordHash: "$2b$10$x", PasswordFormat: "bcrypt", PasswordSalt: "s",
		Passkeys: []Passkey{{CredentialID: "AQID", PublicKey: "pQ", SignCount: 7, AAGUID: "ee882879-721c-4913-9775-3dfcce97072a",
			Transports: []string{"internal", "hybrid"}, UserHandle: "dXNlcg", BackupEligible: true, BackupState: true,
			Name: "Phone", Attachment: "platform", CreatedAt: at("2021-01-01T00:00:00Z"), LastUsedAt: at("2022-01-01T00:00:00+02:00")}}}
	for _, tc := range []struct {
		format Format
		text   string
	}{{JSONLines, line + "\n"}, {CSV, csvText}} {
		t.Run(string(tc.format), func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tc.text), tc.format, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rec.Row, want) {
				t.Errorf("row\n got %+v\nwant %+v", rec.Row, want)
			}
			if rec.Line != 1+boolInt(tc.format == CSV) || rec.Offset != int64(len(tc.text)) {
				t.Errorf("line %d offset %d, want %d and %d", rec.Line, rec.Offset, 1+boolInt(tc.format == CSV), len(tc.text))
			}
			if _, err := r.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("second Next: %v, want EOF", err)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []item
	}{
		{"reads columns in any order, by the header's names",
			"external_id,Email\n7,a@x.org\n",
			[]item{{2, 28, "a@x.org", ""}}},
		{"undoes quoting",
			"email,name\n\"a@x.org\",\"Lovelace, \"\"Ada\"\"\"\n",
			[]item{{2, 41, "a@x.org", ""}}},
		{"takes empty fields and CRLF",
			"email,name,email_verified,created_at,passkeys\r\na@x.org,,,,\r\n",
			[]item{{2, 60, "a@x.org", ""}}},
		{"rejects a record with too few fields and reads on",
			"email,name\na@x.org\nb@x.org,B\n",
			[]item{{2, 19, "", ReasonMalformed}, {3, 29, "b@x.org", ""}}},
		{"rejects a quote left open without swallowing the next line",
			"email,name\na@x.org,\"Ada\nb@x.org,B\n",
			[]item{{2, 24, "", ReasonMalformed}, {3, 34, "b@x.org", ""}}},
		{"rejects a stray quote inside a field",
			"email,name\na@x.org,A\"da\n",
			[]item{{2, 24, "", ReasonMalformed}}},
		{"rejects text after a closing quote",
			"email,name\na@x.org,\"Ada\"x\n",
			[]item{{2, 26, "", ReasonMalformed}}},
		{"rejects a boolean it cannot read",
			"email,email_verified\na@x.org,maybe\n",
			[]item{{2, 35, "", ReasonMalformed}}},
		{"rejects a passkeys column that is not a JSON array",
			"email,passkeys\na@x.org,{}\n",
			[]item{{2, 26, "", ReasonMalformed}}},
		{"rejects a record that is not UTF-8",
			"email,name\nad\xffa@x.org,A\n",
			[]item{{2, 24, "", ReasonMalformed}}},
		{"rejects an unknown name inside the passkeys column",
			"email,passkeys\na@x.org,\"[{\"\"credentialid\"\":\"\"AA\"\"}]\"\n",
			[]item{{2, 53, "", ReasonUnknownField}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readAll(t, CSV, tt.text, Options{}); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCSVHeaderErrorsStopTheFile(t *testing.T) {
	for _, tt := range []struct{ name, text, want string }{
		{"an empty file", "", "empty"},
		{"an unknown column", "email,password\n", `unknown column "password"`},
		{"a repeated column", "email,name,Name\n", "twice"},
		{"no email column", "name\nAda\n", "no email column"},
		{"a header that is not CSV", "email,\"name\n", "not closed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.text), CSV, Options{})
			var he *HeaderError
			if !errors.As(err, &he) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a HeaderError containing %q", err, tt.want)
			}
		})
	}
}

func TestReadBoundsTheLine(t *testing.T) {
	long := `{"email":"a@x.org","name":"` + strings.Repeat("n", 200_000) + `"}`
	text := long + "\n" + `{"email":"b@x.org"}` + "\n" + long
	got := readAll(t, JSONLines, text, Options{MaxLine: 100_000})
	want := []item{
		{1, int64(len(long) + 1), "", ReasonLineTooLong},
		{2, int64(len(long) + 21), "b@x.org", ""},
		{3, int64(len(text)), "", ReasonLineTooLong},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// Under the bound a line longer than the read buffer is read whole.
	if got := readAll(t, JSONLines, long+"\n", Options{MaxLine: 300_000}); len(got) != 1 || got[0].Email != "a@x.org" {
		t.Errorf("a 200 kB line under a 300 kB bound: %+v", got)
	}
}

func TestReadResumesAtAnOffset(t *testing.T) {
	for _, tc := range []struct {
		format Format
		text   string
	}{
		{JSONLines, "{\"email\":\"a@x.org\"}\n{\"email\":\"b@x.org\"}\n{\"email\":\"c@x.org\"}\n"},
		{CSV, "name,email\nA,a@x.org\nB,b@x.org\nC,c@x.org\n"},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			all := readAll(t, tc.format, tc.text, Options{})
			got := readAllSeek(t, tc.format, tc.text, Options{Offset: all[0].Offset, Line: all[0].Line})
			if !reflect.DeepEqual(got, all[1:]) {
				t.Errorf("resumed after the first row: %+v, want %+v", got, all[1:])
			}
		})
	}
}

func readAllSeek(t *testing.T, f Format, text string, opts Options) []item {
	t.Helper()
	r, err := NewReader(bytes.NewReader([]byte(text)), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []item
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, item{Line: rec.Line, Offset: rec.Offset, Email: rec.Row.Email})
	}
}

func TestFormatOf(t *testing.T) {
	for _, tt := range []struct {
		name, path string
		want       Format
		ok         bool
	}{
		{"", "users.jsonl", JSONLines, true},
		{"", "users.NDJSON", JSONLines, true},
		{"", "export.json", JSONLines, true},
		{"", "users.csv", CSV, true},
		{"csv", "users.txt", CSV, true},
		{"JSONL", "users", JSONLines, true},
		{"", "users", "", false},
		{"", "users.xlsx", "", false},
		{"tsv", "users.csv", "", false},
	} {
		got, err := FormatOf(tt.name, tt.path)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("FormatOf(%q, %q) = %q, %v; want %q, ok %v", tt.name, tt.path, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("{\"email\":\"a@x.org\"}\n"), false)
	f.Add([]byte("email,name,passkeys\na@x.org,\"A,\"\"B\"\"\",\"[]\"\n"), true)
	f.Add([]byte("email\n\"unterminated\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		format := JSONLines
		if csv {
			format = CSV
		}
		r, err := NewReader(bytes.NewReader(data), format, Options{MaxLine: 256})
		if err != nil {
			return
		}
		last := int64(-1)
		for range len(data) + 2 {
			rec, err := r.Next()
			var re *RowError
			var off int64
			switch {
			case errors.Is(err, io.EOF):
				return
			case errors.As(err, &re):
				off = re.Offset
			case err != nil:
				t.Fatal(err)
			default:
				off = rec.Offset
			}
			if off <= last || off > int64(len(data)) {
				t.Fatalf("offset %d after %d in %d bytes", off, last, len(data))
			}
			last = off
		}
		t.Fatal("Next never reached the end")
	})
}

// A record's Start is where its Raw begins in the file, so the importer can
// read a row again instead of keeping its text: after a byte-order mark,
// across CRLF line breaks and blank lines, in both formats, and after a
// resume.
func TestRecordStartPlacesRawInTheFile(t *testing.T) {
	files := []struct {
		name   string
		format Format
		text   string
	}{
		{"json lines with a byte-order mark and CRLF", JSONLines,
			"\xef\xbb\xbf{\"email\":\"a@example.com\"}\r\n\r\n{\"email\":\"b@example.com\"}\r\n{\"email\":\"c@example.com\"}"},
		{"csv with a blank line", CSV, "email,name\na@example.com,A\n\nb@example.com,\"B, b\"\nc@example.com,C\n"},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			var offsets []int64
			for _, resume := range []bool{false, true} {
				opts := Options{}
				if resume {
					opts.Offset, opts.Line = offsets[0], 1
				}
				r, err := NewReader(strings.NewReader(f.text), f.format, opts)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for {
					rec, err := r.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					n++
					if !resume {
						offsets = append(offsets, rec.Offset)
					}
					if got := f.text[rec.Start : rec.Start+int64(len(rec.Raw))]; got != string(rec.Raw) {
						t.Errorf("resume=%v line %d: file at Start holds %q, Raw is %q", resume, rec.Line, got, rec.Raw)
					}
				}
				if want := 3 - map[bool]int{false: 0, true: 1}[resume]; n != want {
					t.Errorf("resume=%v: %d rows, want %d", resume, n, want)
				}
			}
		})
	}
}
