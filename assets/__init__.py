"""The data gradviz ships (presets, the airline-passengers series): the package gradviz.assets."""
