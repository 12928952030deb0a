"""Build the optional native pickle engine (safeload/engine/_native.c); everything else is in pyproject.toml.

The extension is optional: where no C compiler (or no Python headers) exist, setuptools warns and the
install goes on without it, and safeload runs its pure-Python engine (the reference implementation).
``SAFELOAD_NO_NATIVE=1`` skips it on purpose (to test that fallback).
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup

extra_compile_args: list[str] = []
if sys.platform != "win32":
    extra_compile_args = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter",
                          "-Wno-missing-field-initializers", "-fno-strict-aliasing"]

ext_modules = []
if os.environ.get("SAFELOAD_NO_NATIVE", "") not in ("1", "true", "yes"):
    ext_modules.append(Extension("safeload.engine._native", ["safeload/engine/_native.c"], optional=True,
                                 extra_compile_args=extra_compile_args))

setup(ext_modules=ext_modules)
