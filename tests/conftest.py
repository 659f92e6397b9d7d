import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# the tests read English messages unless a test asks for another language (not the system locale)
os.environ.setdefault("GRADVIZ_LANG", "en")
