"""Kafka clients for people and tests (kafka-python): admin, produce, read,
verify, and the brokers to run against (embedded Tansu, Apache Kafka)."""
