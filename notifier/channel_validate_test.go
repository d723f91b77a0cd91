package notifier

import (
	"strings"
	"testing"
)

func TestValidateTarget(t *testing.T) {
	for _, tc := range []struct {
		name      string
		target    Target
		wantField string // "" = valid
	}{
		{"unknown channel", Target{Channel: "fax", To: "+381 11 000"}, "channel"},
		{"empty channel", Target{To: "desk@example.org"}, "channel"},

		{"email", Target{Channel: "email", To: "desk@example.org"}, ""},
		{"email with name, two addresses", Target{Channel: "email", To: `"Belgrade Desk" <desk@example.org>, duty@example.org`}, ""},
		{"email not an address", Target{Channel: "email", To: "desk at example.org"}, "to"},
		{"email empty", Target{Channel: "email"}, "to"},
		{"email header injection", Target{Channel: "email", To: "desk@example.org\r\nBcc: all@example.org"}, "to"},

		{"slack", Target{Channel: "slack", To: "https://hooks.slack.com/services/T0/B0/x"}, ""},
		{"slack relative URL", Target{Channel: "slack", To: "/services/T0/B0/x"}, "to"},
		{"slack no URL", Target{Channel: "slack"}, "to"},
		{"mattermost ftp", Target{Channel: "mattermost", To: "ftp://chat.example.org/hooks/x"}, "to"},
		{"discord", Target{Channel: "discord", To: "https://discord.com/api/webhooks/1/x"}, ""},
		{"discord no host", Target{Channel: "discord", To: "https:///api/webhooks/1/x"}, "to"},
		{"teams", Target{Channel: "teams", To: "https://prod-00.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=y"}, ""},
		{"teams malformed", Target{Channel: "teams", To: "https://exa mple.org/%zz"}, "to"},

		{"telegram", Target{Channel: "telegram", To: "https://api.telegram.org?chat_id=-1001234567890", Secret: "123456:ABC-DEF"}, ""},
		{"telegram channel username", Target{Channel: "telegram", To: "https://api.telegram.org/?chat_id=@desk", Secret: "123456:ABC-DEF"}, ""},
		{"telegram no chat_id", Target{Channel: "telegram", To: "https://api.telegram.org", Secret: "123456:ABC-DEF"}, "to"},
		{"telegram no token", Target{Channel: "telegram", To: "https://api.telegram.org?chat_id=1"}, "secret"},
		{"telegram token with a slash", Target{Channel: "telegram", To: "https://api.telegram.org?chat_id=1", Secret: "123/456"}, "secret"},

		{"matrix", Target{Channel: "matrix", To: "https://matrix.example.org?room=!abc:example.org", Secret: "syt_x"}, ""},
		{"matrix room alias", Target{Channel: "matrix", To: "https://matrix.example.org?room=%23desk:example.org", Secret: "syt_x"}, "to"},
		{"matrix no room", Target{Channel: "matrix", To: "https://matrix.example.org", Secret: "syt_x"}, "to"},
		{"matrix no token", Target{Channel: "matrix", To: "https://matrix.example.org?room=!abc:example.org"}, "secret"},

		{"ntfy", Target{Channel: "ntfy", To: "https://ntfy.sh/chancery-desk"}, ""},
		{"ntfy with token", Target{Channel: "ntfy", To: "https://ntfy.example.org/desk", Secret: "tk_x"}, ""},
		{"ntfy no topic", Target{Channel: "ntfy", To: "https://ntfy.sh/"}, "to"},

		{"webhook unsigned", Target{Channel: "webhook", To: "https://example.org/hook"}, ""},
		{"webhook signed", Target{Channel: "webhook", To: "https://example.org/hook", Secret: testWebhookSecret}, ""},
		{"webhook secret without prefix", Target{Channel: "webhook", To: "https://example.org/hook", Secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "secret"},
		{"webhook secret not base64", Target{Channel: "webhook", To: "https://example.org/hook", Secret: "whsec_not base64!"}, "secret"},
		{"webhook secret empty key", Target{Channel: "webhook", To: "https://example.org/hook", Secret: "whsec_"}, "secret"},
		{"webhook bad URL", Target{Channel: "webhook", To: "example.org/hook", Secret: testWebhookSecret}, "to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field, err := ValidateTarget(tc.target)
			if tc.wantField == "" {
				if err != nil {
					t.Errorf("ValidateTarget = %q, %v; want valid", field, err)
				}
				return
			}
			if err == nil || field != tc.wantField {
				t.Errorf("ValidateTarget = %q, %v; want an error in %q", field, err, tc.wantField)
			}
		})
	}
}

func TestValidateTargetNamesEveryChannel(t *testing.T) {
	_, err := ValidateTarget(Target{Channel: "fax"})
	want := "email, slack, mattermost, discord, teams, telegram, matrix, ntfy, webhook"
	for _, name := range strings.Split(want, ", ") {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not list %s", err, name)
		}
	}
}
