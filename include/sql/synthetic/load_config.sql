SELECT parameters FROM synthetic.simulation_config WHERE name = %(name)s
