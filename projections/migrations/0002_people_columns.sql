-- The people of an engagement move into its row: the table of people rows
-- was only ever read through the engagement's id, and writing it was most
-- of the cost of a replay (two or three rows for every engagement).
--
-- people_folded: every person's folded name with a space either side,
-- between bars: '| sergey lavrov | wang yi |'; a whole-word search is an
-- instr of ' word ' that cannot span two people.
-- people_countries: the people's countries between spaces: ' RU CN '.
ALTER TABLE engagements ADD COLUMN people_folded TEXT NOT NULL DEFAULT '';
ALTER TABLE engagements ADD COLUMN people_countries TEXT NOT NULL DEFAULT '';

UPDATE engagements SET
	people_folded = coalesce((
		SELECT '|' || group_concat(' ' || name_folded || ' ', '|' ORDER BY pos) || '|'
		FROM people WHERE engagement_id = engagements.id), ''),
	people_countries = coalesce((
		SELECT ' ' || group_concat(country, ' ' ORDER BY pos) || ' '
		FROM people WHERE engagement_id = engagements.id AND country <> ''), '');

-- A country filter matches the place's country or any person's; with the
-- people in a column no index can serve that OR, so engagements_by_country
-- only cost writes. (IF EXISTS: a replay left unfinished has dropped its
-- indexes, and keeps their definitions in meta to build them at its end;
-- those two are taken out of that list.)
DROP INDEX IF EXISTS people_by_country;
DROP INDEX IF EXISTS engagements_by_country;
DROP TABLE people;

UPDATE meta SET value = (
	SELECT json_group_array(d.value ORDER BY d.key) FROM json_each(meta.value) AS d
	WHERE d.value NOT LIKE 'CREATE INDEX people_by_country %'
	  AND d.value NOT LIKE 'CREATE INDEX engagements_by_country %')
WHERE key = 'replay_indexes';
