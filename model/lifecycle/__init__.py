"""plantscout.model.lifecycle — which bundle is served, and swapping it without a restart.

:mod:`.registry` keeps added bundles and the current / previous pointers on disk,
:mod:`.holder` owns the loaded bundle (and its gallery) in a running process and swaps it
atomically, and :mod:`.registry_cli` is ``plantscout model``. Nothing here is imported by the
scoring core itself.
"""
