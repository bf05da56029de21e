-- Ground truth for a range of booking dates: each trade's true fail probability and drawn outcome.
-- Read only with the upstream simulator's role: no pipeline role may read the synthetic schema.
SELECT trade_id, p_fail, failed
FROM synthetic.trade_fail_probability
WHERE business_date BETWEEN %(first_booking_date)s AND %(last_booking_date)s
