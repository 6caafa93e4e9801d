"""Production monitoring: the service's prediction log, ground-truth feedback and drift.

Not DVC stages: the prediction log changes all the time. ``feedback`` joins outcomes that
arrive later to the logged predictions, ``append`` adds the labelled rows to the training
data, ``monitor`` compares recent traffic with the training data (docs/monitoring.md).
"""
