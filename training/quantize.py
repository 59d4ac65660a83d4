"""Static int8 quantization (ONNX Runtime, QDQ) and speed measurement.

Whether int8 helps is a property of the CPU, not of the model: ONNX Runtime's int8 kernels
are faster on some processors and slower on others. So the speed change is measured here, on
this machine, against the fp32 graph in the same process — never assumed.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plantscout.model.bundle import INPUT_NAME


class _Reader:
    """Feeds preprocessed calibration images to the quantizer, one batch at a time."""

    def __init__(self, batches: Sequence[np.ndarray]) -> None:
        self._batches = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def quantize_int8(fp32_path: Path, int8_path: Path, calibration: np.ndarray) -> None:
    """Conv layers to int8 (per-channel weights); the head and embedding stay fp32."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )
    from onnxruntime.quantization.calibrate import CalibrationDataReader

    class Reader(_Reader, CalibrationDataReader):
        pass

    prepared = int8_path.with_suffix(".prep.onnx")
    quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
    try:
        # One image per batch: the histogram calibrator needs equally shaped batches.
        batches = [calibration[i : i + 1] for i in range(len(calibration))]
        quantize_static(
            str(prepared),
            str(int8_path),
            Reader(batches),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["Conv"],
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": 99.999},
        )
    finally:
        prepared.unlink(missing_ok=True)


def throughput(
    onnx_path: Path, batch: np.ndarray, *, threads: int = 2, repeats: int = 5
) -> dict[str, float]:
    """Images per second (median of ``repeats`` runs over ``batch``), ONNX Runtime CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    session.run(None, {INPUT_NAME: batch})  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(None, {INPUT_NAME: batch})
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    return {"images_per_second": len(batch) / median, "ms_per_image": 1000 * median / len(batch)}


def compare_speed(
    fp32: Path, int8: Path, batch: np.ndarray, *, threads: int = 2, rounds: int = 3
) -> dict[str, Any]:
    """Alternate fp32 / int8 measurements (shared CPUs drift); report medians and the ratio."""
    a, b = [], []
    for _ in range(rounds):
        a.append(throughput(fp32, batch, threads=threads)["images_per_second"])
        b.append(throughput(int8, batch, threads=threads)["images_per_second"])
    fp32_ips, int8_ips = statistics.median(a), statistics.median(b)
    return {
        "fp32_images_per_second": round(fp32_ips, 2),
        "int8_images_per_second": round(int8_ips, 2),
        "int8_speedup": round(int8_ips / fp32_ips, 3),
        "batch": len(batch),
        "threads": threads,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
