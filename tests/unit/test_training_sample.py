"""The rows a model is fitted on when a period has more negative rows than ml/config.yml allows."""

import numpy as np
import pytest

from ml.train import sample_rows


def test_every_positive_and_at_most_the_cap_of_negatives_weighted_to_the_whole() -> None:
    labels = np.array([1] * 30 + [0] * 970)
    rows, weights = sample_rows(labels, 100)
    assert len(rows) == 130 and len(set(rows)) == 130
    assert set(np.flatnonzero(labels)) <= set(rows)
    assert (labels[rows] == 0).sum() == 100
    # The kept negatives stand for all 970: the classes' weights are those of every row.
    assert weights[labels[rows] == 0].sum() == pytest.approx(970) and weights[labels[rows] == 1].sum() == 30
    # Seeded: a rerun fits on the same rows.
    assert np.array_equal(sample_rows(labels, 100)[0], rows)


def test_a_period_within_the_cap_keeps_every_row_unweighted() -> None:
    labels = np.array([0, 1, 0, 0])
    rows, weights = sample_rows(labels, 4)
    assert rows.tolist() == [0, 1, 2, 3] and weights.tolist() == [1, 1, 1, 1]
