-- Whether a table exists (and the session may see it): the swap checks the date's next
-- partition before attaching it. %(table)s is a qualified name, passed as a value.
SELECT to_regclass(%(table)s) IS NOT NULL AS found
