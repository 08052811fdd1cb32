"""Every on-disk layout of the pipeline, owned here: the work folder (:mod:`.work`: data, cache, checkpoints,
run and analysis folders, the checkpoint key), the ingestion folder (:mod:`.ingestion`), a prepared split's
folder (:mod:`.splits`) and the names of the MLflow artifacts a run logs (:mod:`.artifacts`). Tasks call these
and report; they never spell a file name."""
