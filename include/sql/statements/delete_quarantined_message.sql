-- A message is quarantined once: a rerun of its run replaces its row (the quarantine is keyed
-- by an identity column). A message is identified by its partition and offset.
DELETE FROM reporting.quarantine
WHERE business_date = %(business_date)s
  AND source = %(source)s
  AND record_key = %(record_key)s
  AND raw_record ->> 'partition' = %(partition)s
  AND raw_record ->> 'offset' = %(offset)s
