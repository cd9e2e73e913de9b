"""Pure building blocks shared by every layer: no I/O happens here."""
