"""The Qt window: controller (scene and numbers), views, controls, transport (see window.py)."""
