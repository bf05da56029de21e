-- The statement of a business date replaces that date's statement (primary key prefix).
DELETE FROM ops.custodian_confirmations WHERE business_date = %(business_date)s
