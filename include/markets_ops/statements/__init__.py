"""The custodians' statements, each announced on Kafka when it lands (issue 16, part 1: in progress)."""
