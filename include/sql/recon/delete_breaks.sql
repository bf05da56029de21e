-- Reconciliation replaces its business date: this runs in the same transaction as insert_breaks.sql.
DELETE FROM reporting.recon_breaks
WHERE business_date = %(business_date)s
