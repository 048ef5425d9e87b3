from __future__ import annotations

import numpy as np

from tandem.triage.embedders import nearest_cosine


def test_nearest_cosine_takes_the_best_row_and_can_leave_each_row_out() -> None:
    rows = np.eye(3, dtype=np.float32)[[0, 0, 1]]
    queries = np.array([[1, 0, 0], [0, 0, 1]], dtype=np.float32)
    assert nearest_cosine(queries, rows).tolist() == [1.0, 0.0]
    # Leaving itself out, a duplicate row still finds its twin; a lone row finds nothing close.
    assert nearest_cosine(rows, rows, same=True).tolist() == [1.0, 1.0, 0.0]
    assert nearest_cosine(queries, rows[:0]).tolist() == [-1.0, -1.0]
