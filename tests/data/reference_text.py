"""Number texts for the committed reference data (make_*_reference.py): each reads back exactly.

f32: the shortest text that strtof reads back to the same float32; f64: Python's repr, which
strtod reads back to the same double.
"""
import numpy as np


def f32(value):
    return np.format_float_positional(np.float32(value), unique=True, trim="-") \
        if abs(float(value)) >= 1e-4 or value == 0 else \
        np.format_float_scientific(np.float32(value), unique=True, trim="-")


def f64(value):
    return repr(float(value))
