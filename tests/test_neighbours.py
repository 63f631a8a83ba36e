import numpy as np
import pytest

from probes.neighbours import StreamingTopK


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_streamed_top_k_equals_brute_force(batch: int) -> None:
    rng = np.random.default_rng(0)
    queries = rng.normal(size=(20, 16)).astype(np.float32)
    corpus = rng.normal(size=(300, 16)).astype(np.float32)
    corpus[150] = corpus[40]  # a tie: the earlier row must win
    neighbours = StreamingTopK(queries, k=5)
    for start in range(0, len(corpus), batch):
        neighbours.add(corpus[start : start + batch], start)
    similarity, index = neighbours.result()
    scores = queries @ corpus.T
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(index, expected)
    np.testing.assert_allclose(similarity, np.take_along_axis(scores, expected, 1), rtol=1e-5)


def test_fewer_rows_than_k() -> None:
    neighbours = StreamingTopK(np.eye(3, dtype=np.float32), k=4)
    neighbours.add(np.eye(3, dtype=np.float32)[:2], 0)
    similarity, index = neighbours.result()
    assert index[0].tolist() == [0, 1, -1, -1]
    assert np.isneginf(similarity[0, 2:]).all()
