package events

import "testing"

func TestPersonLabelShowsWhatIsKnown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Participant
		want string
	}{
		{Participant{Name: "Sergey Lavrov", Office: "Minister of Foreign Affairs", Country: "RU"}, "Sergey Lavrov, Minister of Foreign Affairs (Russian Federation)"},
		{Participant{Name: "Aleksandar Vulin", Country: "RS"}, "Aleksandar Vulin (Serbia)"},
		{Participant{Name: "Ivica Dačić", Office: "First Deputy Prime Minister"}, "Ivica Dačić, First Deputy Prime Minister"},
		{Participant{Name: "Ana Brnabić"}, "Ana Brnabić"},
	}
	for _, tt := range tests {
		if got := PersonLabel(tt.p); got != tt.want {
			t.Errorf("PersonLabel(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// A part with nothing visible in it (a venue of blanks, as an event loaded
// as recorded can carry) is left out with its comma, so that an alert shows
// the place as the calendar feed does.
func TestPlaceLabelLeavesOutPartsWithNothingVisible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, venue, city, country, want string
	}{
		{"all three", "Palace of Serbia", "Belgrade", "RS", "Palace of Serbia, Belgrade, Serbia"},
		{"no venue", "", "Moscow", "RU", "Moscow, Russian Federation"},
		{"no city", "Kremlin", "", "RU", "Kremlin, Russian Federation"},
		{"only the country", "", "", "RU", "Russian Federation"},
		{"a venue of spaces", "   ", "Moscow", "RU", "Moscow, Russian Federation"},
		{"a city of a tab and a no-break space", "Kremlin", "\t\u00a0", "RU", "Kremlin, Russian Federation"},
		{"a venue of a control character", "\f", "Sochi", "RU", "Sochi, Russian Federation"},
		{"an unknown country code", "", "Sochi", "XX", "Sochi"},
		{"nothing", "", "", "", ""},
	}
	for _, tt := range tests {
		if got := PlaceLabel(tt.venue, tt.city, tt.country); got != tt.want {
			t.Errorf("%s: PlaceLabel(%q, %q, %q) = %q, want %q", tt.name, tt.venue, tt.city, tt.country, got, tt.want)
		}
	}
}

func TestVisitTitleIsVisitorAndCity(t *testing.T) {
	t.Parallel()
	v := Participant{Name: "Aleksandar Vučić", Office: "President of the Republic of Serbia", Country: "RS"}
	if got, want := VisitTitle(v, "Sochi"), "Aleksandar Vučić visits Sochi"; got != want {
		t.Errorf("VisitTitle = %q, want %q", got, want)
	}
}
