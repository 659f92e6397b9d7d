import sys, torch
torch.set_num_threads(1)
from PyQt6.QtWidgets import QApplication
from PyQt6.QtCore import QTimer
app = QApplication(sys.argv)
from gradviz.gui.app import create_window
from gradviz.core.scene import Scene
from gradviz.core.training_presets import load_training_preset
w = create_window(Scene(), autosave=False)
w.resize(1280, 720); w.show()
w.controller.start()
lw = w.training_lab(); lw.resize(int(sys.argv[1]), int(sys.argv[2])); lw.show()
lab = lw.lab
preset = sys.argv[3]
p = load_training_preset(preset)
lab.preset.setCurrentIndex(lab.preset.findData(p.name)); lab._preset_chosen(lab.preset.currentIndex())
if len(sys.argv) > 4:
    lab.iters.setValue(int(sys.argv[4]))
lab.start()
def check():
    if lab.running:
        QTimer.singleShot(200, check); return
    app.processEvents()
    lw.grab().save(f"/tmp/lab_{preset}_{sys.argv[1]}.png")
    if len(sys.argv) > 5:
        lab.analyse()
        def later():
            w.controller.wait(); app.processEvents()
            w.grab().save(f"/tmp/main_analyse.png"); app.quit()
        QTimer.singleShot(3000, later)
    else:
        app.quit()
QTimer.singleShot(500, check)
app.exec()
w.close_guards.clear()
