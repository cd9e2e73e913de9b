"""One package per AWS API. Providers translate requests; the domain code beside them decides."""
