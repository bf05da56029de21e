DELETE FROM synthetic.injected_breaks WHERE business_date = %(business_date)s
