-- The read model: meetings and visits in one table, because the calendar
-- and the notifier want them together, ordered by start.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE engagements (
	id          TEXT PRIMARY KEY,
	type        TEXT NOT NULL,     -- meeting | visit
	version     INTEGER NOT NULL,
	kind        TEXT NOT NULL,     -- meeting kind; 'visit' for visits
	status      TEXT NOT NULL,
	country     TEXT NOT NULL,     -- the location's (meeting) or destination's (visit)
	start_utc   TEXT NOT NULL,     -- RFC 3339, UTC, fixed width so text order is time order
	end_utc     TEXT NOT NULL,     -- exclusive
	start_date  TEXT NOT NULL,     -- local date of the first day
	end_date    TEXT NOT NULL,     -- local date of the last day
	last_seq    INTEGER NOT NULL,  -- stream sequence of the event that produced this row
	doc         TEXT NOT NULL      -- the API resource, as JSON
) STRICT;

CREATE INDEX engagements_by_start ON engagements (type, start_utc, id);
CREATE INDEX engagements_by_end ON engagements (type, end_utc);
CREATE INDEX engagements_by_country ON engagements (country);

-- People taking part: a meeting's participants, a visit's visitor.
CREATE TABLE people (
	engagement_id TEXT NOT NULL REFERENCES engagements (id) ON DELETE CASCADE,
	pos           INTEGER NOT NULL,
	role          TEXT NOT NULL,   -- participant | visitor
	name          TEXT NOT NULL,
	name_folded   TEXT NOT NULL,   -- lowercase words without diacritics, for whole-word search
	office        TEXT NOT NULL,
	country       TEXT NOT NULL,
	PRIMARY KEY (engagement_id, pos)
) STRICT;

CREATE INDEX people_by_country ON people (country, engagement_id);
