"""plantscout.model.gallery — reference galleries: few-shot labels without retraining.

A gallery holds embeddings of labelled reference photos (and negatives that calibrate its
thresholds) for one bundle; :mod:`.gallery_scoring` applies it on top of a :class:`Scorer`'s
output, and :mod:`.gallery_cli` is ``plantscout gallery``. Kept apart from the scoring core so a
reader of ``plantscout.model`` meets only bundle → preprocess → score first.
"""
