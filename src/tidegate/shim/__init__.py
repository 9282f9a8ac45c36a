"""The folder to put on ``PYTHONPATH`` so the official SDKs reach tidegate (see ``sitecustomize.py``)."""

from __future__ import annotations

from pathlib import Path

SHIM_DIR = Path(__file__).resolve().parent
