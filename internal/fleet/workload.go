package fleet

import "time"

// Countries are the countries every write's meeting is in: the webhook
// subscriber's filter, so that every reschedule is an expected alert.
var Countries = []string{"RS", "RU"}

// MeetingBody is a create body for an all-day meeting on start.
func MeetingBody(title, start string) map[string]any {
	return map[string]any{
		"kind": "talks", "title": title, "start": start, "end": start, "timezone": "Europe/Belgrade",
		"location": map[string]string{"city": "Belgrade", "country": "RS"},
		"participants": []map[string]string{
			{"name": "Sergey Lavrov", "office": "Minister of Foreign Affairs", "country": "RU"},
			{"name": "Aleksandar Vulin", "office": "Minister of Internal Affairs", "country": "RS"},
		},
		"source": map[string]string{"url": "https://example.org/release", "published": "2022-08-19"},
	}
}

// RescheduleBody moves a meeting to the all-day date start.
func RescheduleBody(start, reason string) map[string]any {
	return map[string]any{"start": start, "end": start, "timezone": "Europe/Belgrade", "reason": reason}
}

// Day is the n-th date after a base date far in the future: no reminder
// falls due during a run, and each write can set a date of its own.
func Day(n int) string {
	return time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n).Format("2006-01-02")
}
