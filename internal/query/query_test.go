package query

import (
	"errors"
	"net/url"
	"testing"

	"github.com/chancery/chancery/events"
)

func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var de *events.Error
	if !errors.As(err, &de) || de.Code != events.EINVALID {
		t.Fatalf("err = %v, want an invalid-input error", err)
	}
	var names []string
	for _, f := range de.Fields {
		names = append(names, f.Field)
	}
	return names
}

func TestCheckNamesEachUnknownParameter(t *testing.T) {
	v, _ := url.ParseQuery("participants=lavrov&country=RS&colour=red&q=")
	got := fields(t, Check(v, "country", "participant"))
	if len(got) != 3 || got[0] != "colour" || got[1] != "participants" || got[2] != "q" {
		t.Fatalf("fields = %v, want [colour participants q]", got)
	}
}

func TestCheckAcceptsKnownParameters(t *testing.T) {
	v, _ := url.ParseQuery("participant=lavrov&country=RS&country=RU")
	if err := Check(v, "country", "participant"); err != nil {
		t.Fatalf("Check = %v, want nil", err)
	}
}

func TestSingleNamesARepeatedParameter(t *testing.T) {
	v, _ := url.ParseQuery("country=RS&country=RU&kind=summit")
	got := fields(t, Single(v, "country", "kind"))
	if len(got) != 1 || got[0] != "country" {
		t.Fatalf("fields = %v, want [country]", got)
	}
}
