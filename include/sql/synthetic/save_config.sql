INSERT INTO synthetic.simulation_config (name, seed, epoch, trades_per_day, parameters)
VALUES (%(name)s, %(seed)s, %(epoch)s, %(trades_per_day)s, %(parameters)s)
ON CONFLICT (name) DO UPDATE SET
    seed = excluded.seed, epoch = excluded.epoch, trades_per_day = excluded.trades_per_day,
    parameters = excluded.parameters, updated_at = now()
