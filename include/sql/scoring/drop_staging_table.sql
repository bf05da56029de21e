DROP TABLE IF EXISTS {staging_table}
