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
		SELECT '|' || group_concat(' ' || name_folded || ' ', '|') || '|'
		FROM (SELECT name_folded FROM people WHERE engagement_id = engagements.id ORDER BY pos)), ''),
	people_countries = coalesce((
		SELECT ' ' || group_concat(country, ' ') || ' '
		FROM (SELECT country FROM people WHERE engagement_id = engagements.id AND country <> '' ORDER BY pos)), '');

DROP INDEX people_by_country;
DROP TABLE people;

-- A country filter matches the place's country or any person's; with the
-- people in a column no index can serve that OR, so this one only cost
-- writes.
DROP INDEX engagements_by_country;
