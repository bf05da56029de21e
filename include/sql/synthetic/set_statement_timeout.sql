SELECT set_config('statement_timeout', %(statement_timeout)s, true)
