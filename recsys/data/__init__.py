"""Data: MovieLens releases read and validated (ingest, io, schema, releases), splits, vocabularies, feature
tables and the tensors training reads. The bottom layer: it imports nothing else of the library."""
