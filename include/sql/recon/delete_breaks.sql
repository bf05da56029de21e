-- Reconciliation replaces its business date (one custodian's run: the breaks of the trades
-- that custodian holds, settlement_locations): this runs in the same transaction as
-- insert_breaks.sql.
DELETE FROM reporting.recon_breaks AS r
WHERE r.business_date = %(business_date)s
  AND (
      %(settlement_locations)s::text[] IS NULL
      OR r.instrument_id IN (
          SELECT i.instrument_id
          FROM ops.instruments AS i
          WHERE i.settlement_location = ANY(%(settlement_locations)s::text[])
      )
  )
