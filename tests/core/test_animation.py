"""GIF and MP4 animations: the frame count read back matches; a cancel leaves no file."""
import os

import numpy as np
import pytest

from gradviz.core.animation import write_animation
from gradviz.core.errors import GradvizError
from gradviz.core.files import TargetExistsError


def _frames(n, h=33, w=47):
    """Distinct frames (a moving bar), odd sizes on purpose."""
    for k in range(n):
        a = np.full((h, w, 3), 255, np.uint8)
        a[:, (3 * k) % w] = (200, 30, 30)
        a[(2 * k) % h, :, 2] = 0
        yield a


def test_gif_frame_count_and_progress(tmp_path):
    from PIL import Image

    seen = []
    path = tmp_path / "run.gif"
    assert write_animation(path, _frames(12), fps=10, progress=lambda i, n: seen.append((i, n)),
                           count=12)
    with Image.open(path) as im:
        assert im.n_frames == 12
        assert im.size == (47, 33)
        assert im.info["duration"] == 100
    assert seen == [(i, 12) for i in range(1, 13)]
    assert os.listdir(tmp_path) == ["run.gif"]


def test_mp4_frame_count(tmp_path):
    import imageio_ffmpeg

    path = tmp_path / "run.mp4"
    frames = list(_frames(15))
    seen = []
    assert write_animation(path, frames, fps=15, progress=lambda i, n: seen.append(n))
    nframes, secs = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert nframes == 15
    assert secs == pytest.approx(1.0, abs=0.1)
    assert seen == [15] * 15
    assert os.listdir(tmp_path) == ["run.mp4"]


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_cancel_leaves_nothing(tmp_path, suffix):
    done = []
    path = tmp_path / f"run{suffix}"
    ok = write_animation(path, _frames(20), fps=10, progress=lambda i, n: done.append(i),
                         cancelled=lambda: len(done) >= 5)
    assert ok is False
    assert done == [1, 2, 3, 4, 5]
    assert os.listdir(tmp_path) == []


def test_cancel_keeps_existing_file(tmp_path):
    path = tmp_path / "run.gif"
    path.write_bytes(b"old")
    assert write_animation(path, _frames(4), fps=5, cancelled=lambda: True, overwrite=True) is False
    assert path.read_bytes() == b"old"
    with pytest.raises(TargetExistsError):
        write_animation(path, _frames(4), fps=5)
    assert path.read_bytes() == b"old"


def test_bad_input_is_a_clear_error_and_leaves_nothing(tmp_path):
    with pytest.raises(GradvizError, match="unknown animation format"):
        write_animation(tmp_path / "a.avi", _frames(2))
    with pytest.raises(GradvizError, match="frames per second"):
        write_animation(tmp_path / "a.gif", _frames(2), fps=0)
    frames = [np.zeros((10, 10, 3), np.uint8), np.zeros((12, 10, 3), np.uint8)]
    with pytest.raises(GradvizError, match="frame 1 is 10×12"):
        write_animation(tmp_path / "a.mp4", frames)
    with pytest.raises(GradvizError, match="no frames"):
        write_animation(tmp_path / "a.gif", [])
    assert os.listdir(tmp_path) == []
