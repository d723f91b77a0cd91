// Package calendar renders the read model as RFC 5545 iCalendar feeds with
// github.com/emersion/go-ical: VEVENTs with stable UIDs and rising
// SEQUENCEs, VTIMEZONEs for every zone used, and the HTTP handlers that serve
// them with filters and caching.
//
// It reads only through the projections package and never writes events.
package calendar
