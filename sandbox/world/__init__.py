"""The sandbox company generator: a B2B SaaS customer base simulated day by day from one hidden
per-account state, written into the systems of record the emulators serve (see README, "The world")."""

from sandbox.world.commands import advance, generate, info

__all__ = ["advance", "generate", "info"]
