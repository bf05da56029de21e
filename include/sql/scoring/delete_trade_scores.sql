-- Replace a business date: its previous scores go in the same transaction that inserts the new.
DELETE FROM ml.trade_scores WHERE business_date = %(business_date)s
