package events

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
)

// FoldName, rune by rune with a table, must equal foldWhole.
func FuzzFoldName(f *testing.F) {
	for _, s := range []string{"Aleksandar Vučić", "ĐOKOVIĆ", "Großmann", "Сергей Лавров", "नरेन्द्र मोदी",
		"İstanbul", "a\xffb", "王毅", "한국", "Ωμέγα ΣΟΦΊΑ", "e\u0301\u0327", "\U0001D165\U0001D16D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := FoldName(s), foldWhole(s); got != want {
			t.Fatalf("FoldName(%q) = %q, reference %q", s, got, want)
		}
	})
}

// Every rune, alone and between letters, folds as the reference folds it.
func TestFoldNameEveryRune(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		ss := []string{string(r)}
		if r < 0x10000 || unicode.IsMark(r) { // beside letters and reordering marks too
			ss = append(ss, "Ab"+string(r)+"Cd", string(r)+"\U0001D165", "\U0001D16D"+string(r))
		}
		for _, s := range ss {
			if got, want := FoldName(s), foldWhole(s); got != want {
				t.Fatalf("FoldName(%q) = %q, reference %q", s, got, want)
			}
		}
	}
}

func TestFoldName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"Dačić", "dacic"},
		{"DAČIĆ", "dacic"},
		{"dacic", "dacic"},
		{"Vučić", "vucic"},
		{"Aleksandar Vučić", "aleksandar vucic"},
		{"Đoković", "dokovic"}, // đ has no decomposition; it folds to d, not dj
		{"ĐOKOVIĆ", "dokovic"},
		{"Sergey Lavrov", "sergey lavrov"},
		{"Lavrov, Sergey V.", "lavrov sergey v"},
		{"  Sergey\t\tLavrov \n", "sergey lavrov"},
		{"Jean-Yves Le Drian", "jean yves le drian"},
		{"O'Brien", "o brien"},
		{"Wałęsa", "walesa"},
		{"Støre", "store"},
		{"Schäuble", "schauble"},
		{"Großmann", "grossmann"},
		{"Çavuşoğlu", "cavusoglu"},
		{"Сергей Лавров", "сергеи лавров"}, // й decomposes to и + breve, like ё to е
		{"Фёдоров", "федоров"},
		{"Lavrov (MFA) — Moscow", "lavrov mfa moscow"},
		{"G7", "g7"},
		{"", ""},
		{"--- , .", ""},
	}
	for _, tt := range tests {
		if got := FoldName(tt.in); got != tt.want {
			t.Errorf("FoldName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFoldNameMakesSpellingsEqual(t *testing.T) {
	t.Parallel()
	same := [][2]string{
		{"Dačić", "dacic"},
		{"Vučić", "VUCIC"},
		{"Ivica  Dačić", "ivica dacic"},
		{"Lavrov,Sergey", "lavrov sergey"},
	}
	for _, p := range same {
		if a, b := FoldName(p[0]), FoldName(p[1]); a != b {
			t.Errorf("FoldName(%q) = %q and FoldName(%q) = %q, want equal", p[0], a, p[1], b)
		}
	}
	if FoldName("Vučić") == FoldName("Vulin") {
		t.Error("FoldName made Vučić and Vulin equal")
	}
}

// matchesWholeWords reports whether the folded query occurs in the folded
// name as whole words: how a participant filter is expected to match.
func matchesWholeWords(name, query string) bool {
	q := FoldName(query)
	if q == "" {
		return false
	}
	return strings.Contains(" "+FoldName(name)+" ", " "+q+" ")
}

func TestFoldNameSupportsWholeWordMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query string
		want        bool
	}{
		{"Sergey Lavrov", "Lavrov", true},
		{"Sergey Lavrov", "lavrov", true},
		{"Sergey Lavrov", "Sergey Lavrov", true},
		{"Sergey Lavrov", "Lav", false},
		{"Sergey Lavrov", "ergey", false},
		{"Sergey Lavrov", "Lavrov Sergey", false},
		{"Ivica Dačić", "Dacic", true},
		{"Ivica Dačić", "DAČIĆ", true},
		{"Aleksandar Vučić", "vucic", true},
		{"Aleksandar Vulin", "Vučić", false},
		{"Novak Đoković", "Dokovic", true},
		{"Jean-Yves Le Drian", "Le Drian", true},
		{"Jean-Yves Le Drian", "Yves", true},
		{"Sergey Lavrov", "", false},
		{"Sergey Lavrov", "...", false},
	}
	for _, tt := range tests {
		if got := matchesWholeWords(tt.name, tt.query); got != tt.want {
			t.Errorf("matchesWholeWords(%q, %q) = %v, want %v (folded %q, %q)", tt.name, tt.query, got, tt.want, FoldName(tt.name), FoldName(tt.query))
		}
	}
}

// Spacing vowel signs (category Mc) are part of a word in Indic scripts; if
// they are taken for separators, "मोदी" (Modi) splits into one-letter words
// and matches other names with the same consonants.
func TestFoldNameKeepsSpacingMarksInsideWords(t *testing.T) {
	t.Parallel()
	if got := FoldName("नरेंद्र मोदी"); strings.Count(got, " ") != 1 {
		t.Errorf("FoldName(नरेंद्र मोदी) = %q, want two words", got)
	}
	if a, b := FoldName("मोदी"), FoldName("मादी"); a == b {
		t.Errorf("FoldName made मोदी and मादी equal: %q", a)
	}
}

func TestAggregateTypeOf(t *testing.T) {
	t.Parallel()
	now := time.Date(2022, 8, 19, 9, 0, 0, 0, time.UTC)
	mtg, vis := NewMeetingID(now), NewVisitID(now)
	valid := []struct{ id, want string }{
		{mtg, MeetingAggregate},
		{vis, VisitAggregate},
		{NewMeetingID(time.Now()), MeetingAggregate},
		{"mtg_01gavz4w8r0000000000000000", MeetingAggregate},
	}
	for _, tt := range valid {
		if got := AggregateTypeOf(tt.id); got != tt.want {
			t.Errorf("AggregateTypeOf(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
	suffix := mtg[len("mtg_"):]
	invalid := []string{
		"",
		"a.>",
		"*",
		">",
		"mtg_",
		"vis_",
		"mtg_*",
		"mtg_>",
		strings.ToUpper(mtg),
		"MTG_" + suffix,
		"mtg_" + strings.ToUpper(suffix),
		"mtg_" + suffix[:25] + ".",
		"mtg_" + suffix[:12] + "." + suffix[13:],
		"mtg_" + suffix[:25],
		"mtg_" + suffix + "0",
		"mtg_" + suffix[:25] + "i", // i, l, o, u are not Crockford base32
		"mtg_" + suffix[:25] + "l",
		"mtg_" + suffix[:25] + "o",
		"mtg_" + suffix[:25] + "u",
		"mtg_" + suffix[:25] + " ",
		" " + mtg,
		mtg + "\n",
		"evt_" + suffix, // an event id is not an aggregate
		"usr_" + suffix,
		"mtg-" + suffix,
		"chancery.events.meeting." + mtg,
	}
	for _, id := range invalid {
		if got := AggregateTypeOf(id); got != "" {
			t.Errorf("AggregateTypeOf(%q) = %q, want \"\"", id, got)
		}
	}
}

func TestNewIDsAreDistinctAndSortByTime(t *testing.T) {
	t.Parallel()
	early := time.Date(2019, 12, 1, 0, 0, 0, 0, time.UTC)
	late := early.Add(time.Millisecond)
	a, b, c := NewMeetingID(early), NewMeetingID(early), NewMeetingID(late)
	if a == b {
		t.Fatalf("two ids at the same instant are equal: %s", a)
	}
	if !(a < b && b < c) {
		t.Errorf("ids do not sort by creation: %s, %s, %s", a, b, c)
	}
	if !strings.HasPrefix(NewVisitID(early), "vis_") || !strings.HasPrefix(a, "mtg_") {
		t.Errorf("prefixes: %s, %s", NewVisitID(early), a)
	}
}

// validID accepts exactly what the id expression matches.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"mtg_01m9aana00z5kqygqpd9hgcxp0", "vis_01m9aana00z5kqygqpd9hgcxp0", "evt_01m9aana00z5kqygqpd9hgcxp0",
		"mtg_01M9AANA00Z5KQYGQPD9HGCXP0", "mtg_01m9aana00z5kqygqpd9hgcxpi", "abc_01m9aana00z5kqygqpd9hgcxp0",
		"mtg_01m9aana00z5kqygqpd9hgcxp0\n", "mtg_", "", "mtg-01m9aana00z5kqygqpd9hgcxp0", "mtg_01m9aana00z5kqygqpd9hgcxpu"} {
		f.Add(s)
	}
	re := regexp.MustCompile(idExpr)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validID(s), re.MatchString(s); got != want {
			t.Fatalf("validID(%q) = %v, the expression says %v", s, got, want)
		}
	})
}
