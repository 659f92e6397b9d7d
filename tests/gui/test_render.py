"""render_views writes one non-blank PNG per view, at the requested scale, atomically."""
import numpy as np
import pytest
from PyQt6.QtGui import QImage

from gradviz.core.errors import GradvizError
from gradviz.core.scene import Scene, analyse, simulate
from gradviz.gui.render import render_compare, render_views
from gradviz.gui.views.base import Appearance

NAMES = ["states.png", "gates.png", "gradient_flow.png", "jacobian_map.png", "step_factors.png",
         "jacobian_step.png"]


def pixels(path):
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    arr = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine())[:, :img.width() * 4]
    rgb = arr.reshape(img.height(), img.width(), 4)[..., 2::-1].copy()   # BGRA -> RGB
    return img.width(), img.height(), rgb


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_render_views_writes_every_view(qtbot, tmp_path, cell):
    scene = Scene(cell=cell, hidden_size=4, steps=20)
    a = analyse(simulate(scene), exact=False, dtype=np.float32)
    paths = render_views(scene, a, tmp_path, size=(480, 320))
    assert [p.name for p in paths] == NAMES
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)   # no temp files left
    for p in paths:
        w, h, px = pixels(p)
        assert (w, h) == (480, 320)
        colours = np.unique(px.reshape(-1, 3), axis=0)
        assert len(colours) > 20, p.name              # lines, text, colour maps: not blank
        assert (px == 255).all(axis=2).mean() > 0.3   # light theme: mostly white background


def test_render_scale_and_dark_theme(qtbot, tmp_path):
    scene = Scene(hidden_size=3, steps=10)
    a = analyse(simulate(scene))
    paths = render_views(scene, a, tmp_path, scale=2.0, step=5, size=(400, 300),
                         appearance=Appearance(dark=True))
    w, h, px = pixels(paths[0])
    assert (w, h) == (800, 600)
    assert (px == [0x16, 0x18, 0x1c]).all(axis=2).mean() > 0.3   # the dark background


def test_render_rejects_bad_step_and_scale(qtbot, tmp_path):
    scene = Scene(hidden_size=3, steps=10)
    a = analyse(simulate(scene))
    with pytest.raises(GradvizError):
        render_views(scene, a, tmp_path, step=11)
    with pytest.raises(GradvizError):
        render_views(scene, a, tmp_path, scale=0)
    assert list(tmp_path.iterdir()) == []


def test_render_compare(qtbot, tmp_path):
    results = {cell: analyse(simulate(Scene(cell=cell, hidden_size=4, steps=15)))
               for cell in ("rnn", "lstm", "gru")}
    path = render_compare(results, tmp_path / "compare.png", size=(500, 300), scale=1.5)
    w, h, px = pixels(path)
    assert (w, h) == (750, 450)
    assert len(np.unique(px.reshape(-1, 3), axis=0)) > 20
