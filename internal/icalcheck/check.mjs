// check.mjs FILE: read an iCalendar file with Mozilla's ical.js (the parser
// Thunderbird uses) and print its VEVENTs as JSON on stdout:
//
//   {"events":[{"uid","summary","start","end","all_day","status","sequence",
//               "location","description"}]}
//
// start/end are RFC 3339 UTC ("2022-08-22T08:00:00Z") for timed events and
// YYYY-MM-DD for all-day events; end is exclusive.
//
// On any parse error or strictness violation it prints every problem found
// on stderr, one a line, and exits 1. Used by the Go package icalcheck.
import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';

const MAX_OCTETS = 75; // RFC 5545 §3.1, excluding the CRLF

const problems = [];
const fail = (msg) => problems.push(msg);

function finish(events) {
  if (problems.length > 0) {
    const MAX = 40;
    for (const p of problems.slice(0, MAX)) process.stderr.write(`ical.js check: ${p}\n`);
    if (problems.length > MAX) process.stderr.write(`ical.js check: ... and ${problems.length - MAX} more problems\n`);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ events }) + '\n');
}

// rawChecks enforces the octet-level rules of RFC 5545 §3.1 that ical.js
// itself is lenient about, and returns the decoded text (or null).
function rawChecks(buf) {
  if (buf.length === 0) {
    fail('empty file');
    return null;
  }
  const bareLF = [];
  let line = 1;
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === 0x0a) {
      if (i === 0 || buf[i - 1] !== 0x0d) bareLF.push(line);
      const end = i > 0 && buf[i - 1] === 0x0d ? i - 1 : i;
      const len = end - start;
      if (len > MAX_OCTETS) {
        fail(`line ${line}: ${len} octets, longer than ${MAX_OCTETS} (unfolded?)`);
      }
      if (len === 0) {
        fail(`line ${line}: empty line`);
      }
      line++;
      start = i + 1;
    } else if (c === 0x0d && (i + 1 >= buf.length || buf[i + 1] !== 0x0a)) {
      fail(`line ${line}: bare CR not followed by LF`);
    }
  }
  if (bareLF.length > 0) {
    const more = bareLF.length > 1 ? ` (and ${bareLF.length - 1} more)` : '';
    fail(`line ${bareLF[0]}: ends in a bare LF, not CRLF${more}`);
  }
  if (start < buf.length) {
    fail(`line ${line}: last line does not end in CRLF`);
    if (buf.length - start > MAX_OCTETS) {
      fail(`line ${line}: ${buf.length - start} octets, longer than ${MAX_OCTETS}`);
    }
  }
  try {
    // Clients decode the stream before they unfold it, so a fold inside a
    // multi-octet character shows up here as invalid UTF-8.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
  } catch (e) {
    fail(`not valid UTF-8 (a fold splitting a multi-octet character?): ${e.message}`);
    return null;
  }
}

function dateString(t) {
  const p = (n, w) => String(n).padStart(w, '0');
  return `${p(t.year, 4)}-${p(t.month, 2)}-${p(t.day, 2)}`;
}

// utcString turns a timed ICAL.Time into RFC 3339 UTC, cross-checking
// ical.js's own zone conversion against its JS Date conversion.
function utcString(t, what) {
  const conv = t.convertToZone(ICAL.Timezone.utcTimezone);
  const viaZone = `${dateString(conv)}T${String(conv.hour).padStart(2, '0')}:` +
    `${String(conv.minute).padStart(2, '0')}:${String(conv.second).padStart(2, '0')}Z`;
  const viaDate = t.toJSDate().toISOString().replace(/\.000Z$/, 'Z');
  if (viaZone !== viaDate) {
    fail(`${what}: convertToZone(UTC) gives ${viaZone} but toJSDate() gives ${viaDate}`);
  }
  return viaZone;
}

// wallSeconds reads an ICAL.Time's wall clock as if it were UTC.
const wallSeconds = (t) =>
  Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) / 1000;

// onsets lists the UTC instants (seconds) at which each STANDARD/DAYLIGHT
// observance of a VTIMEZONE begins, up to the end of year untilYear, with
// the offset it brings, sorted. This is RFC 5545 §3.6.5 read directly:
// an onset's DTSTART/RRULE/RDATE are local times in its TZOFFSETFROM.
function onsets(rules, untilYear) {
  const out = [];
  for (const r of rules) {
    const from = r.getFirstPropertyValue('tzoffsetfrom');
    const to = r.getFirstPropertyValue('tzoffsetto');
    const dtstart = r.getFirstPropertyValue('dtstart');
    if (!from || !to || !dtstart) continue;
    const push = (t) => out.push({ utc: wallSeconds(t) - from.toSeconds(), from: from.toSeconds(), to: to.toSeconds() });
    push(dtstart);
    for (const rrule of r.getAllProperties('rrule').map((p) => p.getFirstValue())) {
      // UNTIL is applied here, as an instant: the iterator would compare
      // the floating onsets with a UTC UNTIL as if they were UTC. (ical.js's
      // own zone expansion rewrites a UTC UNTIL in place to local time in
      // TZOFFSETFROM, so either form may be found here.)
      const until = rrule.until;
      let limit = Infinity;
      if (until) {
        limit = until.zone === ICAL.Timezone.utcTimezone
          ? wallSeconds(until)
          : wallSeconds(until) - from.toSeconds();
      }
      const open = rrule.clone();
      open.until = null;
      const it = open.iterator(dtstart);
      for (let n = it.next(), i = 0; n && n.year <= untilYear && i < 10000; n = it.next(), i++) {
        if (wallSeconds(n) - from.toSeconds() > limit) break;
        if (n.compare(dtstart) !== 0) push(n);
      }
    }
    for (const prop of r.getAllProperties('rdate')) {
      for (const v of prop.getValues()) push(v.start || v); // PERIOD or DATE-TIME
    }
  }
  return out.sort((a, b) => a.utc - b.utc);
}

// instants returns the distinct UTC instants (seconds) whose wall clock under
// the VTIMEZONE rules is the local time t: one for a normal time, two for a
// repeated hour (DST fall-back), none in a DST gap.
function instants(t, rules) {
  const list = onsets(rules, t.year + 1);
  if (list.length === 0) return new Set();
  const offsetAt = (u) => {
    let o = list[0].from;
    for (const x of list) {
      if (x.utc > u) break;
      o = x.to;
    }
    return o;
  };
  const found = new Set();
  const wall = wallSeconds(t);
  for (const o of new Set(list.flatMap((x) => [x.from, x.to]))) {
    if (offsetAt(wall - o) === o) found.add(wall - o);
  }
  return found;
}

// Properties a VEVENT may carry at most once (RFC 5545 §3.6.1).
const SINGLE = ['uid', 'dtstamp', 'dtstart', 'dtend', 'duration', 'summary',
  'description', 'location', 'status', 'sequence', 'class', 'created',
  'last-modified', 'url', 'organizer', 'priority', 'transp', 'geo',
  'recurrence-id'];

const STATUSES = new Set(['TENTATIVE', 'CONFIRMED', 'CANCELLED']);

function main() {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node check.mjs FILE.ics\n');
    process.exit(2);
  }
  const text = rawChecks(readFileSync(file));
  if (text === null) return finish([]);

  let jcal;
  try {
    jcal = ICAL.parse(text);
  } catch (e) {
    fail(`ICAL.parse: ${e.message}`);
    return finish([]);
  }
  // ICAL.parse returns one component, or a list when there are several.
  if (Array.isArray(jcal[0])) {
    fail(`expected exactly one VCALENDAR, found ${jcal.length} top-level components`);
    return finish([]);
  }
  const cal = new ICAL.Component(jcal);
  if (cal.name !== 'vcalendar') {
    fail(`top-level component is ${cal.name.toUpperCase()}, not VCALENDAR`);
    return finish([]);
  }
  if (cal.getFirstPropertyValue('version') !== '2.0') {
    fail('VCALENDAR lacks VERSION:2.0');
  }
  if (!cal.getFirstPropertyValue('prodid')) {
    fail('VCALENDAR lacks PRODID');
  }

  // Register every VTIMEZONE of this calendar before any time is read, so
  // that no TZID can fall back to the machine's local zone.
  const tzids = new Set();
  const tzRules = new Map(); // TZID -> its STANDARD/DAYLIGHT components
  for (const vtz of cal.getAllSubcomponents('vtimezone')) {
    const tzid = vtz.getFirstPropertyValue('tzid');
    if (!tzid) {
      fail('VTIMEZONE without TZID');
      continue;
    }
    if (tzids.has(tzid)) fail(`VTIMEZONE ${tzid} defined twice`);
    tzids.add(tzid);
    const rules = [...vtz.getAllSubcomponents('standard'), ...vtz.getAllSubcomponents('daylight')];
    if (rules.length === 0) fail(`VTIMEZONE ${tzid} has neither STANDARD nor DAYLIGHT`);
    tzRules.set(tzid, rules);
    for (const r of rules) {
      for (const p of ['dtstart', 'tzoffsetfrom', 'tzoffsetto']) {
        if (!r.hasProperty(p)) fail(`VTIMEZONE ${tzid} ${r.name.toUpperCase()} lacks ${p.toUpperCase()}`);
      }
    }
    try {
      ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
    } catch (e) {
      fail(`VTIMEZONE ${tzid}: ${e.message}`);
    }
  }

  // Every TZID anywhere outside VTIMEZONE must name a VTIMEZONE of the file
  // (RFC 5545 §3.2.19), and must not sit on a DATE or a UTC value.
  const walk = (comp) => {
    if (comp.name === 'vtimezone') return;
    for (const prop of comp.getAllProperties()) {
      const tzid = prop.getParameter('tzid');
      if (tzid === undefined || tzid === null) continue;
      const where = `${comp.name.toUpperCase()} ${prop.name.toUpperCase()}`;
      if (!tzids.has(tzid)) fail(`${where}: TZID=${tzid} has no VTIMEZONE in the calendar`);
      if (prop.type === 'date') fail(`${where}: DATE value carries TZID=${tzid}`);
      for (const v of prop.jCal.slice(3)) {
        if (typeof v === 'string' && v.endsWith('Z')) {
          fail(`${where}: UTC value ${v} carries TZID=${tzid}`);
        }
      }
    }
    for (const sub of comp.getAllSubcomponents()) walk(sub);
  };
  walk(cal);

  const events = [];
  cal.getAllSubcomponents('vevent').forEach((vevent, idx) => {
    const uid = vevent.getFirstPropertyValue('uid');
    const label = uid ? `VEVENT ${uid}` : `VEVENT #${idx + 1}`;
    const bad = (msg) => fail(`${label}: ${msg}`);
    if (!uid) bad('missing UID');
    for (const name of SINGLE) {
      const n = vevent.getAllProperties(name).length;
      if (n > 1) bad(`${name.toUpperCase()} appears ${n} times`);
    }
    const dtstamp = vevent.getFirstProperty('dtstamp');
    if (!dtstamp) {
      bad('missing DTSTAMP');
    } else if (dtstamp.type !== 'date-time' || !String(dtstamp.jCal[3]).endsWith('Z')) {
      bad(`DTSTAMP ${dtstamp.jCal[3]} is not a UTC DATE-TIME`);
    }
    const dtstartProp = vevent.getFirstProperty('dtstart');
    if (!dtstartProp) {
      bad('missing DTSTART');
      return;
    }
    const dtendProp = vevent.getFirstProperty('dtend');
    if (dtendProp && vevent.hasProperty('duration')) bad('has both DTEND and DURATION');

    let ok = true;
    for (const prop of [dtstartProp, dtendProp]) {
      if (!prop) continue;
      const what = prop.name.toUpperCase();
      const raw = prop.jCal[3];
      if (prop.type === 'date-time') {
        if (!prop.getParameter('tzid') && !String(raw).endsWith('Z')) {
          bad(`${what} ${raw} is a floating time (no TZID, not UTC)`);
          ok = false;
        }
      } else if (prop.type !== 'date') {
        bad(`${what} has value type ${prop.type}`);
        ok = false;
      }
    }
    if (dtendProp && dtendProp.type !== dtstartProp.type) {
      bad(`DTEND is a ${dtendProp.type} but DTSTART is a ${dtstartProp.type}`);
      ok = false;
    }
    if (!ok) return;

    let ev, start, end;
    try {
      ev = new ICAL.Event(vevent);
      start = ev.startDate;
      end = ev.endDate;
    } catch (e) {
      bad(`reading times: ${e.message}`);
      return;
    }
    for (const [what, t, prop] of [['DTSTART', start, dtstartProp], ['DTEND', end, dtendProp]]) {
      const tzid = prop && prop.getParameter('tzid');
      if (!tzid || t.isDate) continue;
      if (!t.zone || t.zone === ICAL.Timezone.localTimezone || t.zone.tzid !== tzid) {
        bad(`${what}: TZID=${tzid} did not resolve to its VTIMEZONE (zone ${t.zone && t.zone.tzid})`);
        ok = false;
        continue;
      }
      // ical.js silently picks the second occurrence of a repeated hour and
      // the offset after a DST gap; RFC 5545 §3.3.5 says the first
      // occurrence and the offset before the gap. Such local times are not
      // portable. For all others, ical.js must agree with the rules.
      const found = [...instants(t, tzRules.get(tzid) || [])];
      const stamp = `${t.toString()} ${tzid}`;
      if (found.length === 0) {
        bad(`${what} ${stamp} does not exist (DST gap); clients disagree on its instant: write it in UTC`);
        ok = false;
      } else if (found.length > 1) {
        bad(`${what} ${stamp} occurs twice (DST fall-back); clients disagree on which one is meant: write it in UTC`);
        ok = false;
      } else if (found[0] !== t.toUnixTime()) {
        bad(`${what} ${stamp}: ical.js reads ${new Date(t.toUnixTime() * 1000).toISOString()} but the VTIMEZONE rules give ${new Date(found[0] * 1000).toISOString()}`);
        ok = false;
      }
    }
    if (!ok) return;

    const allDay = start.isDate;
    const startStr = allDay ? dateString(start) : utcString(start, `${label} DTSTART`);
    const endStr = allDay ? dateString(end) : utcString(end, `${label} DTEND`);
    const cmp = end.compare(start);
    if (cmp < 0) {
      bad(`DTEND ${endStr} is before DTSTART ${startStr}`);
    } else if (cmp === 0 && dtendProp) {
      bad(`DTEND ${endStr} equals DTSTART; RFC 5545 §3.8.2.2 wants it later (omit DTEND for an instant)`);
    }

    const status = vevent.getFirstPropertyValue('status');
    if (status !== null && !STATUSES.has(status)) bad(`STATUS ${status} is not valid for a VEVENT`);
    let sequence = 0;
    if (vevent.hasProperty('sequence')) {
      sequence = ev.sequence;
      if (!Number.isInteger(sequence) || sequence < 0) {
        bad(`SEQUENCE ${vevent.getFirstProperty('sequence').jCal[3]} is not a non-negative integer`);
      }
    }
    events.push({
      uid: uid || '',
      summary: ev.summary ?? '',
      start: startStr,
      end: endStr,
      all_day: allDay,
      status: status ?? '',
      sequence,
      location: ev.location ?? '',
      description: ev.description ?? '',
    });
  });
  finish(events);
}

try {
  main();
} catch (e) {
  process.stderr.write(`ical.js check: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
}
