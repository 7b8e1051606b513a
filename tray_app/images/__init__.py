"""Counting the images an image-generation session produced, from outside the tool, read-only.

`counter.ImageCounter` is the door; `models` holds model families and public reference figures.
"""

from tray_app.images.counter import ImageCount, ImageCounter
from tray_app.images.models import comparison_sentence, guess_family

__all__ = ["ImageCount", "ImageCounter", "comparison_sentence", "guess_family"]
