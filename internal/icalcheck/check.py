#!/usr/bin/python3
"""check.py FILE: read an iCalendar file with Debian's python3-icalendar and
print its VEVENTs as JSON on stdout:

  {"events":[{"uid","summary","start","end","all_day","status","sequence",
              "location","description"}]}

start/end are RFC 3339 UTC ("2022-08-22T08:00:00Z") for timed events and
YYYY-MM-DD for all-day events; end is exclusive.

On any parse error or strictness violation it prints every problem found on
stderr, one a line, and exits 1. Used by the Go package icalcheck.

Time zones: python-icalendar 4.x resolves a TZID through pytz's Olson
database first and only falls back to the file's VTIMEZONE for names pytz
does not know (5.x and later behave differently again). A feed is read by
clients through its own VTIMEZONEs, so this script ignores that lookup and
resolves every TZID from the file's VTIMEZONE, read twice: by icalendar's
own Timezone.to_tz() and by dateutil's tzical (a dependency of
python3-icalendar). The two must agree; to_tz() expands open-ended RRULEs
only up to 2038, so from 2038 on dateutil's reading is used. Both mishandle
an RRULE UNTIL in UTC (which RFC 5545 requires there), so they are given the
rules with UNTIL in local time (see Zone._local_until).

Run it with Debian's /usr/bin/python3 so that the Debian package is found.
"""
import copy
import io
import json
import sys
from datetime import date, datetime, timedelta, timezone

MAX_OCTETS = 75  # RFC 5545 section 3.1, excluding the CRLF
TO_TZ_HORIZON = 2038  # icalendar 4.x Timezone.to_tz() stops RRULEs here

problems = []


def fail(msg):
    if len(msg) > 400:
        msg = msg[:400] + "..."
    problems.append(msg)


def finish(events):
    if problems:
        limit = 40
        for p in problems[:limit]:
            sys.stderr.write("python3-icalendar check: %s\n" % p)
        if len(problems) > limit:
            sys.stderr.write("python3-icalendar check: ... and %d more problems\n"
                             % (len(problems) - limit))
        sys.exit(1)
    sys.stdout.write(json.dumps({"events": events}) + "\n")
    sys.exit(0)


def raw_checks(data):
    """Octet-level rules of RFC 5545 section 3.1, which icalendar itself is
    lenient about. Returns the decoded text, or None."""
    if not data:
        fail("empty file")
        return None
    bare_lf = []
    line = 1
    start = 0
    n = len(data)
    i = 0
    while i < n:
        c = data[i]
        if c == 0x0A:
            crlf = i > 0 and data[i - 1] == 0x0D
            if not crlf:
                bare_lf.append(line)
            end = i - 1 if crlf else i
            length = end - start
            if length > MAX_OCTETS:
                fail("line %d: %d octets, longer than %d (unfolded?)"
                     % (line, length, MAX_OCTETS))
            if length == 0:
                fail("line %d: empty line" % line)
            line += 1
            start = i + 1
        elif c == 0x0D and (i + 1 >= n or data[i + 1] != 0x0A):
            fail("line %d: bare CR not followed by LF" % line)
        i += 1
    if bare_lf:
        more = "" if len(bare_lf) == 1 else " (and %d more)" % (len(bare_lf) - 1)
        fail("line %d: ends in a bare LF, not CRLF%s" % (bare_lf[0], more))
    if start < n:
        fail("line %d: last line does not end in CRLF" % line)
        if n - start > MAX_OCTETS:
            fail("line %d: %d octets, longer than %d"
                 % (line, n - start, MAX_OCTETS))
    try:
        # Clients decode the stream before unfolding it, so a fold inside a
        # multi-octet character shows up here as invalid UTF-8.
        return data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        fail("not valid UTF-8 (a fold splitting a multi-octet character?): %s" % e)
        return None


def values(comp, name):
    """All values of property name in comp (icalendar keeps repeats as a list)."""
    if name not in comp:
        return []
    v = comp[name]
    return list(v) if isinstance(v, list) else [v]


def prop_items(comp):
    for name, v in comp.items():
        for one in (v if isinstance(v, list) else [v]):
            yield name, one


# Properties a VEVENT may carry at most once (RFC 5545 section 3.6.1).
SINGLE = ("UID", "DTSTAMP", "DTSTART", "DTEND", "DURATION", "SUMMARY",
          "DESCRIPTION", "LOCATION", "STATUS", "SEQUENCE", "CLASS", "CREATED",
          "LAST-MODIFIED", "URL", "ORGANIZER", "PRIORITY", "TRANSP", "GEO",
          "RECURRENCE-ID")
STATUSES = ("TENTATIVE", "CONFIRMED", "CANCELLED")


class Zone:
    """One VTIMEZONE of the file, read by icalendar and by dateutil."""

    def __init__(self, tzid, vtz, pytz, dateutil_tz):
        self.tzid = tzid
        self.vtz = vtz
        self.fixed = None
        self.pytz = pytz
        self.dateutil_tz = dateutil_tz
        self._to_tz = None
        self._tzical = None

    @staticmethod
    def _local_until(vtz):
        """A copy of vtz whose RRULE UNTILs are local times.

        RFC 5545 section 3.3.10 wants UNTIL in UTC inside STANDARD/DAYLIGHT,
        whose DTSTART is a local time. icalendar 4.x's to_tz() then fails in
        dateutil ("RRULE UNTIL values must be specified in UTC when DTSTART
        is timezone-aware"), and dateutil's tzical drops the Z and reads the
        UTC value as a local time, losing a last onset. Both read the rule
        right with UNTIL in the observance's local time (TZOFFSETFROM)."""
        fixed = copy.deepcopy(vtz)
        for sub in fixed.subcomponents:
            if "TZOFFSETFROM" not in sub:
                continue
            off = sub["TZOFFSETFROM"].td
            for rr in values(sub, "RRULE"):
                if "UNTIL" in rr:
                    rr["UNTIL"] = [u.astimezone(timezone.utc).replace(tzinfo=None) + off
                                   if isinstance(u, datetime) and u.tzinfo else u
                                   for u in rr["UNTIL"]]
        return fixed

    def load(self):
        try:
            self.fixed = self._local_until(self.vtz)
        except Exception as e:  # noqa: BLE001
            fail("VTIMEZONE %s: %s: %s" % (self.tzid, type(e).__name__, e))
            return False
        try:
            self._to_tz = self.fixed.to_tz()
        except Exception as e:  # noqa: BLE001 - any failure is a finding
            if not self._past_horizon():
                fail("VTIMEZONE %s: icalendar Timezone.to_tz(): %s: %s"
                     % (self.tzid, type(e).__name__, e))
                return False
            # to_tz() cannot build a zone whose observances begin near or
            # after its 2038 horizon (it asserts); dateutil alone reads it.
        try:
            self._tzical = self.dateutil_tz.tzical(
                io.StringIO(self._minimal_ical())).get(self.tzid)
        except Exception as e:  # noqa: BLE001
            fail("VTIMEZONE %s: dateutil tzical: %s: %s"
                 % (self.tzid, type(e).__name__, e))
        return self._tzical is not None

    def _past_horizon(self):
        for sub in self.vtz.subcomponents:
            dt = getattr(sub.get("DTSTART"), "dt", None)
            if isinstance(dt, datetime) and dt.year >= TO_TZ_HORIZON:
                return True
        return False

    def _minimal_ical(self):
        # tzical rejects properties it does not model (X-LIC-LOCATION and
        # the like), so hand it only the ones that define the rules.
        out = ["BEGIN:VTIMEZONE", "TZID:" + self.tzid]
        for sub in self.fixed.subcomponents:
            if sub.name not in ("STANDARD", "DAYLIGHT"):
                continue
            out.append("BEGIN:" + sub.name)
            for name in ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME",
                         "RRULE", "RDATE", "EXDATE"):
                for v in values(sub, name):
                    ical = v.to_ical()  # bytes, or str for some types in 4.x
                    if isinstance(ical, bytes):
                        ical = ical.decode("utf-8")
                    out.append("%s:%s" % (name, ical))
            out.append("END:" + sub.name)
        out.append("END:VTIMEZONE")
        return "\r\n".join(out) + "\r\n"

    def to_utc(self, local, what):
        """The UTC instant of naive local wall time, or None on a problem."""
        pytz = self.pytz
        tz = self.dateutil_tz
        stamp = "%s %s" % (local.isoformat(), self.tzid)
        try:
            a = None
            if self._to_tz is not None:
                a = self._to_tz.localize(local, is_dst=None).astimezone(pytz.utc)
        except pytz.AmbiguousTimeError:
            fail("%s %s occurs twice (DST fall-back); clients disagree on which "
                 "one is meant: write it in UTC" % (what, stamp))
            return None
        except pytz.NonExistentTimeError:
            fail("%s %s does not exist (DST gap); clients disagree on its "
                 "instant: write it in UTC" % (what, stamp))
            return None
        d = local.replace(tzinfo=self._tzical)
        if tz.datetime_ambiguous(d) or not tz.datetime_exists(d):
            fail("%s %s is ambiguous or nonexistent by dateutil's reading of "
                 "the VTIMEZONE" % (what, stamp))
            return None
        b = d.astimezone(timezone.utc)
        if a is not None and a != b and local.year < TO_TZ_HORIZON:
            fail("%s %s: icalendar reads the VTIMEZONE as %s, dateutil as %s"
                 % (what, stamp, a.isoformat(), b.isoformat()))
            return None
        return b


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: /usr/bin/python3 check.py FILE.ics\n")
        sys.exit(2)
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    text = raw_checks(data)
    if text is None:
        finish([])

    try:
        import pytz
        from dateutil import tz as dateutil_tz
        from icalendar import Calendar
    except ImportError as e:
        sys.stderr.write("python3-icalendar check: %s (apt-get install "
                         "python3-icalendar, run with /usr/bin/python3)\n" % e)
        sys.exit(3)

    try:
        cal = Calendar.from_ical(text)
    except Exception as e:  # noqa: BLE001 - any failure is a finding
        fail("Calendar.from_ical: %s: %s" % (type(e).__name__, e))
        finish([])
    if cal.name != "VCALENDAR":
        fail("top-level component is %s, not VCALENDAR" % cal.name)
        finish([])
    # Components that ignore exceptions (VEVENT, among others) drop a bad
    # property silently and note it here.
    for comp in cal.walk():
        for prop, err in getattr(comp, "errors", []) or []:
            fail("%s %s: %s" % (comp.name, prop or "", err))
    if str(cal.get("VERSION", "")) != "2.0":
        fail("VCALENDAR lacks VERSION:2.0")
    if not str(cal.get("PRODID", "")):
        fail("VCALENDAR lacks PRODID")

    zones = {}  # TZID -> Zone, for the VTIMEZONEs that could be read
    defined = set()  # every TZID with a VTIMEZONE
    for vtz in cal.walk("VTIMEZONE"):
        tzid = str(vtz.get("TZID", ""))
        if not tzid:
            fail("VTIMEZONE without TZID")
            continue
        if tzid in defined:
            fail("VTIMEZONE %s defined twice" % tzid)
            continue
        defined.add(tzid)
        if not any(s.name in ("STANDARD", "DAYLIGHT") for s in vtz.subcomponents):
            fail("VTIMEZONE %s has neither STANDARD nor DAYLIGHT" % tzid)
            continue
        zone = Zone(tzid, vtz, pytz, dateutil_tz)
        if zone.load():
            zones[tzid] = zone

    def uid_of(comp):
        return str(comp["UID"]) if "UID" in comp else ""

    # Every TZID outside VTIMEZONE must name a VTIMEZONE of the file
    # (RFC 5545 section 3.2.19).
    def walk(comp, owner):
        if comp.name == "VTIMEZONE":
            return
        label = comp.name + (" " + uid_of(comp) if uid_of(comp) else "")
        if owner:
            label = owner + " " + label
        for name, v in prop_items(comp):
            params = getattr(v, "params", None) or {}
            tzid = params.get("TZID")
            if tzid is None:
                continue
            if str(tzid) not in defined:
                fail("%s %s: TZID=%s has no VTIMEZONE in the calendar"
                     % (label, name, tzid))
        for sub in comp.subcomponents:
            walk(sub, label if comp.name != "VCALENDAR" else "")
    walk(cal, "")

    events = []
    for idx, ev in enumerate(cal.walk("VEVENT")):
        uid = uid_of(ev)
        label = "VEVENT " + uid if uid else "VEVENT #%d" % (idx + 1)

        def bad(msg, label=label):
            fail("%s: %s" % (label, msg))

        if not uid:
            bad("missing UID")
        for name in SINGLE:
            n = len(values(ev, name))
            if n > 1:
                bad("%s appears %d times" % (name, n))
        if "DTSTAMP" not in ev:
            bad("missing DTSTAMP")
        else:
            st = values(ev, "DTSTAMP")[0]
            dt = getattr(st, "dt", None)
            if (not isinstance(dt, datetime) or dt.tzinfo is None
                    or dt.utcoffset() != timedelta(0) or "TZID" in st.params):
                bad("DTSTAMP %s is not a UTC DATE-TIME" % st.to_ical().decode())
        if "DTSTART" not in ev:
            bad("missing DTSTART")
            continue
        if "DTEND" in ev and "DURATION" in ev:
            bad("has both DTEND and DURATION")

        def read_time(name, bad=bad, label=label):
            prop = values(ev, name)[0]
            params = prop.params
            dt = prop.dt
            tzid = params.get("TZID")
            vtype = str(params.get("VALUE", "DATE-TIME")).upper()
            if isinstance(dt, datetime):
                if vtype != "DATE-TIME":
                    bad("%s has VALUE=%s but a DATE-TIME value" % (name, vtype))
                    return None
                if tzid is not None:
                    zone = zones.get(str(tzid))
                    if zone is None:
                        return None  # reported by walk() or Zone.load()
                    return ("date-time", zone.to_utc(dt.replace(tzinfo=None),
                                                     "%s: %s" % (label, name)))
                if dt.tzinfo is None:
                    bad("%s %s is a floating time (no TZID, not UTC)"
                        % (name, dt.isoformat()))
                    return None
                if dt.utcoffset() != timedelta(0):
                    bad("%s %s has a non-UTC offset without TZID" % (name, dt))
                    return None
                return ("date-time", dt.astimezone(timezone.utc))
            if isinstance(dt, date):
                if tzid is not None:
                    bad("%s: DATE value carries TZID=%s" % (name, tzid))
                    return None
                if vtype != "DATE":
                    bad("%s %s is a DATE without VALUE=DATE" % (name, dt.isoformat()))
                    return None
                return ("date", dt)
            bad("%s has unexpected value %r" % (name, dt))
            return None

        start = read_time("DTSTART")
        if start is None or start[1] is None:
            continue
        all_day = start[0] == "date"
        if "DTEND" in ev:
            end = read_time("DTEND")
            if end is None or end[1] is None:
                continue
            if end[0] != start[0]:
                bad("DTEND is a %s but DTSTART is a %s" % (end[0], start[0]))
                continue
            end_v = end[1]
        elif "DURATION" in ev:
            dur = values(ev, "DURATION")[0].dt
            if not isinstance(dur, timedelta):
                bad("DURATION %r is not a duration" % (dur,))
                continue
            end_v = start[1] + dur
        else:
            end_v = start[1] + timedelta(days=1) if all_day else start[1]
        start_v = start[1]

        if all_day:
            start_s, end_s = start_v.isoformat(), end_v.isoformat()
        else:
            start_s = start_v.strftime("%Y-%m-%dT%H:%M:%SZ")
            end_s = end_v.strftime("%Y-%m-%dT%H:%M:%SZ")
        if end_v < start_v:
            bad("DTEND %s is before DTSTART %s" % (end_s, start_s))
        elif end_v == start_v and "DTEND" in ev:
            bad("DTEND %s equals DTSTART; RFC 5545 section 3.8.2.2 wants it "
                "later (omit DTEND for an instant)" % end_s)

        status = str(ev.get("STATUS", ""))
        if status and status not in STATUSES:
            bad("STATUS %s is not valid for a VEVENT" % status)
        sequence = 0
        if "SEQUENCE" in ev:
            try:
                sequence = int(values(ev, "SEQUENCE")[0])
            except (TypeError, ValueError):
                bad("SEQUENCE is not an integer")
            if sequence < 0:
                bad("SEQUENCE %d is negative" % sequence)

        def text(name):
            vs = values(ev, name)
            return str(vs[0]) if vs else ""

        events.append({
            "uid": uid,
            "summary": text("SUMMARY"),
            "start": start_s,
            "end": end_s,
            "all_day": all_day,
            "status": status,
            "sequence": sequence,
            "location": text("LOCATION"),
            "description": text("DESCRIPTION"),
        })
    finish(events)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        sys.stderr.write("python3-icalendar check: %s: %s\n" % (type(e).__name__, e))
        sys.exit(1)
