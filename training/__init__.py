"""plantscout.training — datasets to released bundles: train, export, calibrate, evaluate.

Import nothing heavy here: ``plantscout evaluate`` (``evaluate_cli``, ``evaluate``,
``metrics``, ``report``, ``plots``, ``policy``) must run where torch is not installed, scoring
through the exported ONNX bundle. The torch side is ``train``, ``export``, ``backbones``,
``network``, ``features``.
"""
