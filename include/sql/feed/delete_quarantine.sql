-- A rerun replaces the date's quarantined rows of this source (reporting.quarantine is keyed
-- by its identity column, so replacing is the only way not to duplicate them).
DELETE FROM reporting.quarantine
WHERE business_date = %(business_date)s AND source = %(source)s
