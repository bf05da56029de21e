-- What reconciliation of %(business_date)s found: counts per break type and status, and how
-- many breaks appeared that day; with settlement_locations, of the trades in those locations
-- only (one custodian's reconciliation).
SELECT
    r.break_type,
    count(*) FILTER (WHERE r.status = 'open') AS open_breaks,
    count(*) FILTER (WHERE r.status = 'open' AND r.first_seen_date = %(business_date)s) AS new_breaks,
    count(*) FILTER (WHERE r.status = 'resolved') AS resolved_breaks
FROM reporting.recon_breaks AS r
WHERE r.business_date = %(business_date)s
  AND (
      %(settlement_locations)s::text[] IS NULL
      OR r.instrument_id IN (
          SELECT i.instrument_id
          FROM ops.instruments AS i
          WHERE i.settlement_location = ANY(%(settlement_locations)s::text[])
      )
  )
GROUP BY r.break_type
ORDER BY r.break_type
