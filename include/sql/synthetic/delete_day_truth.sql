-- A date's truth replaced in a bulk seed (synthetic/bulk.py), as delete_*.sql do for the loader's
-- seed: its fail probabilities, its injected breaks, and no bad rows (the history is clean).
WITH fail_probabilities AS (
    DELETE FROM synthetic.trade_fail_probability WHERE business_date = $1
),
injected_breaks AS (
    DELETE FROM synthetic.injected_breaks WHERE business_date = $1
)
DELETE FROM synthetic.injected_bad_rows WHERE business_date = $1
