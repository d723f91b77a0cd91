package notifier

import (
	"html"
	"strings"
	"unicode/utf8"
)

// markup is how one chat service formats a message: the title in bold,
// the text, and a link to the meeting. Lengths are counted in UTF-16 code
// units (see utf16Len).
type markup struct {
	escape func(string) string
	bold   func(string) string
	link   func(href, label string) string
}

var (
	// slackMarkup is Slack's mrkdwn: only &, < and > are special.
	slackMarkup = markup{
		escape: strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace,
		bold:   func(s string) string { return "*" + s + "*" },
		link: func(href, label string) string {
			return "<" + strings.NewReplacer("|", "%7C", ">", "%3E").Replace(href) + "|" + label + ">"
		},
	}
	// markdownMarkup is the Markdown of Mattermost and Discord. Text is
	// passed through: templates may use Markdown on purpose.
	markdownMarkup = markup{
		escape: func(s string) string { return s },
		bold:   func(s string) string { return "**" + s + "**" },
		link: func(href, label string) string {
			return "[" + label + "](" + strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29").Replace(href) + ")"
		},
	}
	// telegramMarkup is the Bot API's HTML parse mode.
	telegramMarkup = markup{
		escape: html.EscapeString,
		bold:   func(s string) string { return "<b>" + s + "</b>" },
		link: func(href, label string) string {
			return `<a href="` + html.EscapeString(href) + `">` + label + "</a>"
		},
	}
)

// linkLabel is the text of the link to the meeting or visit.
const linkLabel = "Open in Chancery"

// maxTitle caps a subject before formatting: a title is one line.
const maxTitle = 256

// render formats m in at most limit UTF-16 units: the text is cut to fit,
// never the title or the link, and never inside an escape sequence.
func (mk markup) render(m Message, limit int) string {
	const gap = "\n\n"
	out := mk.bold(mk.escape(truncateUTF16(oneLine(m.Subject), maxTitle)))
	var tail string
	if m.URL != "" {
		tail = gap + mk.link(m.URL, linkLabel)
	}
	text := strings.TrimSpace(m.Text)
	room := limit - utf16Count(out) - utf16Count(tail) - len(gap)
	body := mk.escape(text)
	if utf16Count(body) > room {
		// Escaping lengthens text by an amount that depends on where it
		// is cut: find the longest cut whose escaped form fits.
		body = ""
		for lo, hi := 1, room; lo <= hi; {
			mid := (lo + hi) / 2
			if s := mk.escape(truncateUTF16(text, mid)); utf16Count(s) <= room {
				body, lo = s, mid+1
			} else {
				hi = mid - 1
			}
		}
	}
	if body != "" {
		out += gap + body
	}
	return out + tail
}

// utf16Count is the length of s in UTF-16 code units.
func utf16Count(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Len(r)
	}
	return n
}

// oneLine makes s fit a header or a title: control characters (CR and LF
// above all, which would start a new header) become spaces, and runs of
// white space one space.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == ' '
	}), " ")
}

// utf16Len counts r the way JavaScript-based services (Slack, Discord,
// Telegram, Teams) count characters. It is never less than counting code
// points, so a text cut by it fits either way.
func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// truncateUTF16 shortens s to at most limit UTF-16 code units (see
// utf16Len), ending with "…" when it cut.
func truncateUTF16(s string, limit int) string {
	return truncateBy(s, limit, utf16Len)
}

// truncateBytes shortens s to at most limit bytes of UTF-8, ending with
// "…" when it cut, never splitting a sequence.
func truncateBytes(s string, limit int) string {
	return truncateBy(s, limit, utf8.RuneLen)
}

// truncateBy shortens s so that the sizes of its runes add up to at most
// limit, the last being "…" when it cut.
func truncateBy(s string, limit int, size func(rune) int) string {
	total := 0
	for _, r := range s {
		total += size(r)
	}
	if total <= limit {
		return s
	}
	const ellipsis = '…'
	budget := limit - size(ellipsis)
	var b strings.Builder
	for _, r := range s {
		if budget-size(r) < 0 {
			break
		}
		budget -= size(r)
		b.WriteRune(r)
	}
	b.WriteRune(ellipsis)
	return b.String()
}
