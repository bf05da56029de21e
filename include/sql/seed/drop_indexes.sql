-- Each index costs an insertion per row, in random order for most: a COPY of a million trades
-- ran at 134k rows/s with the primary key alone and 74k with the indexes too, and a day's
-- four large COPYs took 9.3 s with their primary keys and 5.6 s without (1,000,000 trades a
-- day); one sorted build over the whole table at the end costs less than the insertions.
-- Dropped for the seed's transaction only, and only when the tables hold no earlier day (a
-- new world): after loaded days, the build would cover those too.
DO $$
DECLARE
    seeded_index record;
BEGIN
    FOR seeded_index IN SELECT drop_statement FROM seeded_indexes LOOP
        EXECUTE seeded_index.drop_statement;
    END LOOP;
END
$$
