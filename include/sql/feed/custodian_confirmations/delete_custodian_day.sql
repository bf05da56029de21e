-- One custodian's statement of a business date replaces that custodian's rows of the date
-- only: the other custodians' statements of the date stay as they were loaded.
DELETE FROM ops.custodian_confirmations
WHERE business_date = %(business_date)s AND custodian = %(custodian)s
