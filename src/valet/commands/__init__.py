"""One module per CLI sub-command; each is a thin layer over the core modules."""
