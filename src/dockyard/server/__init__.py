"""The composition root: settings, the wiring of stores, services and controllers, lifespan."""
