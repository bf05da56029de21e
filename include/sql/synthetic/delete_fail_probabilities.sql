DELETE FROM synthetic.trade_fail_probability WHERE business_date = %(business_date)s
