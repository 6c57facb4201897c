"""The drivers of the pure core that live and replay share: batches of
consumed records, and a JSON Lines log on event time. No Kafka, no Faust."""
