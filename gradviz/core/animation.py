"""Write a run's frames (H×W×3 uint8 images) as an animated GIF or an MP4 video, atomically.

GIF goes through Pillow (an adaptive 256-colour palette per frame; consecutive identical
frames are merged into one longer frame, so the total duration is kept). MP4 (H.264,
yuv420p) goes through imageio-ffmpeg, whose wheel ships its own ffmpeg binary; odd frame
sizes are padded by one white row/column since yuv420p needs even sizes. Between frames
``progress(i, n)`` is called (i frames done of n; n is 0 when the frames' count is unknown)
and ``cancelled()`` is checked: a cancel stops, removes the temp file and leaves no file.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from .errors import GradvizError
from .files import atomic_path
from .i18n import _

FORMATS = (".gif", ".mp4")


class _Cancelled(Exception):
    pass


def _frame_array(frame, index: int, size: tuple[int, int] | None) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.dtype != np.uint8:
        raise GradvizError(_("animation frame {index}: expected an H×W×3 uint8 image, got shape {shape} "
                             "{dtype}")
                           .format(index=index, shape=a.shape, dtype=a.dtype))
    a = a[:, :, :3]
    if size is not None and a.shape[:2] != size:
        raise GradvizError(_("animation frame {index} is {value}×{value2} pixels, expected "
                             "{value3}×{value4} like the first frame")
                           .format(index=index, value=a.shape[1], value2=a.shape[0], value3=size[1],
                                   value4=size[0]))
    return np.ascontiguousarray(a)


def _frames(frames, progress, cancelled, count):
    """Checked frames, with progress reported and cancel checked before each one."""
    n = count if count is not None else (len(frames) if hasattr(frames, "__len__") else 0)
    size = None
    done = 0
    for done, frame in enumerate(frames):
        if cancelled is not None and cancelled():
            raise _Cancelled
        a = _frame_array(frame, done, size)
        size = a.shape[:2]
        yield a
        if progress is not None:
            progress(done + 1, n)
    if cancelled is not None and cancelled():
        raise _Cancelled


def _write_gif(tmp: Path, frames, fps: float) -> int:
    from PIL import Image

    images = [Image.fromarray(a, mode="RGB") for a in frames]
    if not images:
        raise GradvizError(_("no frames to write"))
    duration = max(20, round(1000.0 / fps))   # viewers treat < 20 ms as 100 ms
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                   duration=duration, loop=0, optimize=False)
    return len(images)


def _write_mp4(tmp: Path, frames, fps: float) -> int:
    import imageio_ffmpeg

    writer = None
    count = 0
    try:
        for a in frames:
            h, w = a.shape[:2]
            if h % 2 or w % 2:
                a = np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)
            if writer is None:
                writer = imageio_ffmpeg.write_frames(
                    str(tmp), size=(a.shape[1], a.shape[0]), fps=fps, codec="libx264",
                    pix_fmt_out="yuv420p", quality=8, macro_block_size=1,
                    ffmpeg_log_level="error")
                writer.send(None)
            writer.send(np.ascontiguousarray(a).tobytes())
            count += 1
    finally:
        if writer is not None:
            writer.close()
    if not count:
        raise GradvizError(_("no frames to write"))
    return count


def write_animation(path, frames: Iterable, fps: float = 10.0,
                    progress: Callable[[int, int], None] | None = None,
                    cancelled: Callable[[], bool] | None = None,
                    overwrite: bool = False, count: int | None = None) -> bool:
    """Write ``frames`` to ``path`` (.gif or .mp4) at ``fps`` frames per second.

    Returns True when the file was written, False when ``cancelled()`` said stop (then no
    file is left, and an existing one is untouched). ``count`` is the number of frames for
    ``progress`` when ``frames`` is a generator.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise GradvizError(_("{path}: unknown animation format {value!r}; expected .gif or .mp4")
                           .format(path=path, value=path.suffix or '(none)'))
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) \
            or not 0 < fps <= 120:
        raise GradvizError(_("frames per second must lie in (0, 120], got {fps!r}").format(fps=fps))
    writer = _write_gif if suffix == ".gif" else _write_mp4
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            writer(tmp, _frames(frames, progress, cancelled, count), float(fps))
    except _Cancelled:
        return False
    return True
