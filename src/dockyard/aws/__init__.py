"""AWS wire compatibility, driven by botocore's service models."""
