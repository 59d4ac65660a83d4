"""plantscout.drone — scanning drone frames and orthomosaics for suspected spots.

Frames are cut into overlapping tiles at the ground resolution the model expects, scored in
batches, merged into per-frame heatmaps and suspected regions, and placed on the ground from
their geotags (:mod:`plantscout.drone.geotags`). Memory stays bounded whatever the frame size:
JPEG frames are decoded in bands (see :mod:`.frames`). Only numpy, Pillow and onnxruntime are
needed; GeoTIFF orthomosaics use rasterio from the ``geo`` extra, imported when used.
"""

from plantscout.drone.scan import FrameResult, ScanOptions, scan_frame

__all__ = ["FrameResult", "ScanOptions", "scan_frame"]
