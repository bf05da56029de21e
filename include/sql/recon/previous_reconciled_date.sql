-- The latest business date before %(business_date)s, and not before %(earliest_previous)s, that
-- reconciliation wrote rows for: its open breaks are the ones that age (or resolve) tonight.
-- A date with no rows had no break open and none resolved, so it carries nothing forward. A
-- reconciliation older than the window (a long outage) carries nothing either: its breaks are
-- found again as new ones, rather than aged across days nobody reconciled.
SELECT max(business_date) AS previous_date
FROM reporting.recon_breaks
WHERE business_date < %(business_date)s
  AND business_date >= %(earliest_previous)s
