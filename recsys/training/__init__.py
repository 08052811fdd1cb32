"""Training: the one trainer, its callbacks (early stopping, progress), per-epoch checkpoints to resume from,
and the fitting of ensembles over trained members. Reads data and models, nothing above."""
