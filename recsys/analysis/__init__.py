"""Analysis of a trained run: hidden-unit activations and their tables, movie maps, the reference study's
claims, and the HTML report. The top of the library but for the pipeline config."""
