package notifier

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestChannelTruncationNeverSplitsUTF8(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		limit int
		cut   func(string, int) string
		want  string
	}{
		{"fits", "Лавров", 6, truncateUTF16, "Лавров"},
		{"runes", "Лавров и Вулин", 6, truncateUTF16, "Лавро…"},
		{"astral counts two", "🇷🇸🇷🇺 talks", 5, truncateUTF16, "🇷🇸…"},
		{"bytes", "Лавров", 7, truncateBytes, "Ла…"},
		{"bytes never half a rune", "Лавров", 6, truncateBytes, "Л…"},
		{"bytes fits", "talks", 5, truncateBytes, "talks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.cut(tc.in, tc.limit)
			if got != tc.want || !utf8.ValidString(got) {
				t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
			}
		})
	}
}

func TestChannelBodiesFitEachServiceLimit(t *testing.T) {
	m := testAlert()
	m.Text = strings.Repeat("Переговоры & <встреча> 🇷🇸 ", 5000)
	for _, tc := range []struct {
		name  string
		mk    markup
		limit int
	}{
		{"discord", markdownMarkup, discordContentLimit},
		{"telegram", telegramMarkup, telegramTextLimit},
		{"slack", slackMarkup, slackTextLimit},
		{"mattermost", markdownMarkup, mattermostTextLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.mk.render(m, tc.limit)
			if n := utf16Count(got); n > tc.limit || n < tc.limit-20 {
				t.Errorf("rendered %d UTF-16 units, want at most %d and close to it", n, tc.limit)
			}
			if !utf8.ValidString(got) {
				t.Error("rendered text is not valid UTF-8")
			}
			if !strings.HasSuffix(got, tc.mk.link(m.URL, linkLabel)) {
				t.Errorf("the link did not survive the cut: …%s", got[len(got)-80:])
			}
			if i := strings.LastIndexByte(got, '&'); tc.mk.escape("&") != "&" && !strings.HasPrefix(got[i:], "&amp;") && !strings.HasPrefix(got[i:], "&lt;") && !strings.HasPrefix(got[i:], "&gt;") {
				t.Errorf("cut inside an escape: …%s", got[i:])
			}
		})
	}
}

func TestChannelTitleIsOneLine(t *testing.T) {
	got := oneLine("Talks\r\nBcc: all@example.org\u2028and\tmore  ")
	if want := "Talks Bcc: all@example.org and more"; got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
}
