-- Whether the target holds rows of the date (after the source's steps that replace the date's
-- rows, e.g. delete_day.sql): then the date's rows are not only the file's, and the file is
-- loaded through the work table (whose merge knows the rows already there).
SELECT EXISTS (SELECT FROM {target} WHERE business_date = %(business_date)s) AS found
