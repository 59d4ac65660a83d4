"""A flight spread over a Ray cluster: ``plantscout scan --ray auto|ADDRESS``.

Ray schedules; this module only says what a frame task is and what the driver keeps:

* **One task per frame.** The driver reads each frame, checks for a stored result (a re-run
  skips frames already scanned with the same bundle and options, exactly as a local scan
  does), and sends the bytes with the task, so worker machines need no shared disk. The
  bundle's files travel once through Ray's object store; each worker process loads its
  scorer once and keeps it for the tasks that follow.
* **The driver writes every output.** A task returns the frame's result and its overlay PNG;
  the driver stores both the moment they arrive (``frames/<sha256>.json``, ``overlays/``) and
  builds the flight's CSV / GeoJSON / KML from the stored results at the end, with the same
  code as a local scan, so the outputs are the same files byte for byte.
* **A lost worker re-runs only its frames.** A task whose worker process or node dies fails
  with a Ray system error; the driver hands that frame out again, once (like the local pool,
  :mod:`plantscout.drone.pool`), and reports it ``worker_lost`` if it fails again. Frames that
  finished are never rescanned; they are stored already.
* At most ``window`` frames are in flight (twice the cluster's task slots by default), so
  the driver's and the object store's memory stay bounded on a flight of thousands.

Ray comes with the ``cluster`` extra (``pip install "plantscout[cluster]"``) and is imported
only here, only when asked for.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from plantscout.drone.pool import lost_frame
from plantscout.drone.runner import Layout, scan_path, store_result, stored_result
from plantscout.drone.scan import FrameResult, ScanOptions

Record = Callable[[FrameResult, bool], None]
Submit = Callable[[str, Any], None]  # (frame path, ObjectRef): a frame handed to Ray

_SCORERS: dict[str, Any] = {}  # per worker process: ONNX sha256 -> Scorer


class ClusterUnavailable(RuntimeError):
    """Ray is missing, or the cluster cannot be reached."""


def _require_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ClusterUnavailable(
            'scanning on a Ray cluster needs Ray: pip install "plantscout[cluster]"'
        ) from exc
    return ray


def bundle_files(path: str | os.PathLike[str]) -> dict[str, bytes]:
    """The bundle's top-level files (model.onnx, card.json, a gallery …), by name."""
    folder = Path(path)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _scorer(files: dict[str, bytes], threads: int, batch_size: int) -> Any:
    key = f"{hashlib.sha256(files['model.onnx']).hexdigest()}:{threads}:{batch_size}"
    if key not in _SCORERS:
        from plantscout.model.scorer import Scorer

        folder = Path(tempfile.mkdtemp(prefix="plantscout-bundle-"))
        for name, data in files.items():
            (folder / name).write_bytes(data)
        _SCORERS[key] = Scorer(folder, intra_op_threads=threads, batch_size=batch_size)
    return _SCORERS[key]


def scan_task(
    name: str, data: bytes, sha: str, files: dict[str, bytes], options: ScanOptions, threads: int
) -> tuple[dict[str, Any], bytes | None]:
    """Runs on a worker: one frame's result (as JSON data) and its overlay PNG."""
    from plantscout.drone.overlay import overlay_png

    scorer = _scorer(files, threads, options.batch_size)
    suffix = Path(name).suffix or ".jpg"
    with tempfile.TemporaryDirectory(prefix="plantscout-frame-") as folder:
        path = Path(folder) / f"frame{suffix}"
        path.write_bytes(data)
        result = scan_path(path, scorer, options, sha, name=name)
    return result.as_dict(), overlay_png(result)


def connect(address: str) -> tuple[Any, bool]:
    """Join the cluster at ``address`` ("auto": the one this machine belongs to)."""
    ray = _require_ray()
    if ray.is_initialized():
        return ray, False
    try:
        ray.init(address=address, log_to_driver=False, logging_level="WARNING")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterUnavailable(f"cannot reach the Ray cluster at {address!r}: {exc}") from exc
    return ray, True


def scan_on_ray(
    paths: Sequence[str],
    layout: Layout,
    *,
    address: str,
    bundle: str | None,
    options: ScanOptions,
    threads: int = 1,
    record: Record,
    cancelled: Callable[[], bool] | None = None,
    retries: int = 1,
    window: int | None = None,
    on_submit: Submit | None = None,
) -> Counter[str]:
    """Scan ``paths`` on the cluster, storing results in ``layout`` as they arrive.

    Returns how many times each frame's worker was lost (empty when none was).
    """
    from plantscout.model.bundle import load_bundle

    loaded = load_bundle(bundle)  # the driver checks the bundle once, as a local scan does
    ray, started_here = connect(address)
    lost: Counter[str] = Counter()
    try:
        files = ray.put(bundle_files(loaded.path))
        task = ray.remote(num_cpus=threads, max_retries=0)(scan_task)
        widest = max(
            (n.get("Resources", {}).get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=0
        )
        if widest < threads:
            raise ClusterUnavailable(
                f"no node of the cluster has {threads} CPUs for a task of {threads} threads "
                f"(the largest has {widest:g}); use fewer --threads"
            )
        slots = max(1, int(ray.cluster_resources().get("CPU", 1) // threads))
        window = window or 2 * slots
        pending = deque(paths)
        flying: dict[Any, str] = {}
        while pending or flying:
            if cancelled and cancelled():
                for ref in flying:
                    ray.cancel(ref, force=True)
                return lost
            while pending and len(flying) < window:
                path = pending.popleft()
                submitted = _submit(path, layout, options, loaded, task, files, threads, record)
                if submitted is not None:
                    flying[submitted] = path
                    if on_submit:
                        on_submit(path, submitted)
            if not flying:
                continue
            ready, _ = ray.wait(list(flying), num_returns=1, timeout=1.0)
            for ref in ready:
                path = flying.pop(ref)
                try:
                    data, overlay = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # our code raised: not a lost worker
                    label = layout.label(Path(path))
                    record(_failed(label, f"{exc.__class__.__name__}: {exc}"), False)
                    continue
                except ray.exceptions.RayError as exc:  # the worker or its node is gone
                    lost[path] += 1
                    if lost[path] <= retries:
                        pending.appendleft(path)
                    else:
                        why = exc.__class__.__name__
                        record(lost_frame(path, lost[path], why, layout.label(Path(path))), False)
                    continue
                result = FrameResult.from_dict(data)
                store_result(layout, result, overlay)
                record(result, False)
    finally:
        if started_here:
            ray.shutdown()
    return lost


def _submit(
    path: str,
    layout: Layout,
    options: ScanOptions,
    loaded: Any,
    task: Any,
    files: Any,
    threads: int,
    record: Record,
) -> Any:
    """A stored result is recorded at once; otherwise the frame goes to the cluster."""
    label = layout.label(Path(path))
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        record(
            FrameResult(
                file=label,
                sha256="",
                verdict="error",
                error={"code": "unreadable", "message": layout.plain(str(exc), Path(path))},
            ),
            False,
        )
        return None
    sha = hashlib.sha256(data).hexdigest()
    stored = stored_result(layout, sha, options, loaded.identity()["sha256"])
    if stored is not None:
        stored.file = label
        record(stored, True)
        return None
    return task.remote(label, data, sha, files, options, threads)


def _failed(path: str, message: str) -> FrameResult:
    return FrameResult(
        file=path, sha256="", verdict="error", error={"code": "scan_failed", "message": message}
    )
