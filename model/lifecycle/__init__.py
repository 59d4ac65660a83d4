"""plantscout.model.lifecycle — which bundle is used, and swapping it without a restart.

:mod:`.resolve` is the one answer to "which bundle?" for every command and the service,
:mod:`.registry` keeps added bundles and the current / previous pointers on disk, and
:mod:`.holder` owns the loaded bundle (and its gallery) in a running process and swaps it
atomically. Its command, ``plantscout model``, is ``plantscout.model.registry_cli``. Nothing
here is imported by the scoring core itself.
"""
