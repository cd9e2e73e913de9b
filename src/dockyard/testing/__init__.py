"""Fakes shipped for tests: FakeRuntime, FakeClock, a threaded server, client factories."""
