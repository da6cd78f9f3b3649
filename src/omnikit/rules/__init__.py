# Copyright (c) 2026 The omnikit developers. Licensed under the MIT License.
"""
Rules that marketers can read: conditions written as data, evaluated safely.

Added in version 0.1.0.
"""

from . import jsonlogic

__all__ = ["jsonlogic"]
