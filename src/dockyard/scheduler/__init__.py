"""Pure placement and reconciliation: data in, decisions out, no I/O."""
