-- What was last loaded of a custodian's statement of a business date (nothing: no row).
SELECT sha256, kafka_partition, kafka_offset, dag_run_id
FROM ops.statement_deliveries
WHERE business_date = %(business_date)s AND custodian = %(custodian_code)s
