-- Bound every statement of this transaction (a locked or hung database fails fast).
SELECT set_config('statement_timeout', %(statement_timeout)s, true),
       set_config('lock_timeout', %(lock_timeout)s, true)
