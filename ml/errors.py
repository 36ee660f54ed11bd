"""The one error the ML part raises for bad input: its message is one readable line."""


class ModelError(Exception):
    """Training or scoring cannot go on (too few examples, a missing feature, an unreadable model file)."""


class TooLittleData(ModelError):
    """The history is too short, or holds too few positive rows, for the configured split: the run goes
    on without training (the champion, if any, keeps scoring)."""


class NoModel(ModelError):
    """No model of the kind can score yet (none trained, or none good enough)."""
