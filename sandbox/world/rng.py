"""Randomness: one independent generator per (seed, simulated day, stream).

Drawing per day, never from a generator that lives across days, is what makes a world simulated
in one run identical to one simulated in chunks (generate, then advance).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    INIT = 1
    HEALTH = 2
    SALES_PIPELINE = 3
    CONTACTS = 4
    RENEWALS = 5
    EXPANSION = 6
    BILLING = 7
    SUPPORT = 8
    PRODUCT_USERS = 9
    EVENTS = 10
    CSM = 11
    OPPORTUNITIES = 12


def day_rng(seed: int, day: int, stream: Stream, sub: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, day, int(stream), sub])
