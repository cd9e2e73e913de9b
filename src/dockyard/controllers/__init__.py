"""Level-triggered reconcile loops: events enqueue keys, workers take one bounded step per key."""
