"""The domain: the data schema, the metrics and the promotion gate, shared by every layer."""
