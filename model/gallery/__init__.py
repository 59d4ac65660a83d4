"""plantscout.model.gallery — reference galleries: few-shot labels without retraining.

A gallery holds embeddings of labelled reference photos (and negatives that calibrate its
thresholds) for one bundle; :mod:`.gallery_scoring` applies it on top of a :class:`Scorer`'s
output. Kept apart from the scoring core so a reader of ``plantscout.model`` meets only
bundle → preprocess → score first. Its command, ``plantscout gallery``, is
``plantscout.model.gallery_cli``, on model's top floor with the other CLIs (it also needs the
bundle resolver in :mod:`plantscout.model.lifecycle`, which sits above this package).
"""
