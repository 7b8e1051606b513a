"""Raison Garder: measure what local AI image generation really draws, and keep a sense of measure."""

__version__ = "0.1.0"
APP_NAME = "Raison Garder"
APP_ID = "raison-garder"
