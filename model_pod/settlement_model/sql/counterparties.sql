-- Reference data of every counterparty (a few hundred rows), joined to the trades in the job.
SELECT counterparty_id::text AS counterparty_id, sector::text AS sector, country_code::text AS country_code
FROM ops.counterparties
