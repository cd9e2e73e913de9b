"""Container runtimes behind the `ContainerRuntime` protocol."""
