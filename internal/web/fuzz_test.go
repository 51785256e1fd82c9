package web_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// FuzzSigninBody posts arbitrary bytes as the JSON body of sign-up and
// password sign-in. Whatever arrives, the answer is never a 500, and it is
// JSON: an error with a code, or a sign-in answer with a user.
func FuzzSigninBody(f *testing.F) {
	for _, seed := range []string{
		`{"email":"fuzz@example.com","password":"plum kettle orbit 42"}`,
		`{"email":"fuzz@example.com","password":"wrong"}`,
		`{"email":"","password":""}`,
		`{"email":1,"password":true}`,
		`{"email":"a@b.co","password":"x","extra":{"nested":[1,2,3]}}`,
		`[]`, `null`, `{}`, `{`, `"x"`, ``,
		`{"email":"\u0000@example.com","password":"\ud800\udc00\ud800"}`,
		"{\"email\":\"\xff\xfe@example.com\",\"password\":\"12345678\"}",
		`{"email":"' OR '1'='1","password":"\"; DROP TABLE users; --"}`,
		`{"email":"a@example.com","password":"aaaaaaaa"}{"email":"b@example.com"}`,
		`{"email":"a@example.com","email":"b@example.com","password":"plum kettle orbit 42"}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]`,
	} {
		f.Add([]byte(seed))
	}
	in := servertest.Start(f, "sqlite:"+testdb.SQLitePath(f))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := in.Client(t)
		for _, path := range []string{"/api/signup", "/api/signin/password"} {
			r := c.Do(http.MethodPost, path, body, http.Header{"Content-Type": {"application/json"}})
			if r.Status >= 500 {
				t.Fatalf("POST %s %q: %d %s", path, body, r.Status, r.Body)
			}
			var answer struct {
				Error *struct {
					Code string `json:"code"`
				} `json:"error"`
				User *struct {
					ID string `json:"id"`
				} `json:"user"`
			}
			if err := json.Unmarshal(r.Body, &answer); err != nil {
				t.Fatalf("POST %s %q: %d answer is not JSON: %v\n%s", path, body, r.Status, err, r.Body)
			}
			switch {
			case r.Status < 300 && (answer.User == nil || answer.User.ID == ""):
				t.Fatalf("POST %s %q: %d without a user: %s", path, body, r.Status, r.Body)
			case r.Status >= 400 && (answer.Error == nil || answer.Error.Code == ""):
				t.Fatalf("POST %s %q: %d without an error code: %s", path, body, r.Status, r.Body)
			case r.Status >= 300 && r.Status < 400:
				t.Fatalf("POST %s %q: unexpected %d", path, body, r.Status)
			}
		}
	})
}
