DELETE FROM synthetic.injected_bad_rows WHERE business_date = %(business_date)s
