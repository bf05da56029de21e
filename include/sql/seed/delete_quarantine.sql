-- A clean day replaces the date's quarantined rows of its three files, as the loader does.
DELETE FROM reporting.quarantine
WHERE business_date = $1
  AND source IN ('trades', 'custodian_confirmations', 'settlement_outcomes')
