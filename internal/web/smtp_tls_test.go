package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/keyshift/keyshift/internal/config"
	"github.com/keyshift/keyshift/internal/email/outbox/mailtest"
	"github.com/keyshift/keyshift/internal/server/servertest"
	"github.com/keyshift/keyshift/internal/testdb"
)

// TestSigninMailTravelsOverSTARTTLSWithAuth is the operator's setup end to
// end: KEYSHIFT_SMTP_URL with credentials, a relay whose certificate a
// private CA signed, and KEYSHIFT_SMTP_CA_FILE naming that CA.
func TestSigninMailTravelsOverSTARTTLSWithAuth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, database string) {
		ca := mailtest.NewCA(t)
		relay := mailtest.Start(t, mailtest.STARTTLS(ca.ServerCert(t)), mailtest.Auth("keyshift@example.com", "s3cret/p@ss"))
		caFile := ca.WriteFile(t)
		in := servertest.Start(t, database, func(c *config.Config) {
			c.SMTPURLs = []string{relay.URL()}
			c.SMTPCAFile = caFile
		})
		c := in.Client(t)
		if r := c.JSON(http.MethodPost, "/api/email/start", map[string]any{"email": "ada@example.com"}); r.Status != http.StatusAccepted {
			t.Fatalf("start: %d %s", r.Status, r.Body)
		}
		got := relay.Wait(t, 1, 15*time.Second)[0]
		if !got.TLS || got.User != "keyshift@example.com" {
			t.Errorf("mail arrived with TLS=%v as %q, want TLS as keyshift@example.com", got.TLS, got.User)
		}
		parseSigninMail(t, got.Raw)
	})
}
