-- A rerun whose condition has cleared for an entity removes that entity's alert of the date.
DELETE FROM reporting.alerts AS a
WHERE a.rule_id = %(rule_id)s
  AND a.business_date = %(business_date)s
  AND NOT EXISTS (SELECT 1 FROM {hits} AS h WHERE h.entity_key = a.entity_key)
