"""The DVC stages (prepare, validate, train, evaluate) and the batch jobs after them."""
