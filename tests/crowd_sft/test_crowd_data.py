"""Bundled MovieLens preference matrix: derivation, shipped copy, loader, validation."""
from pathlib import Path

import numpy as np
import pytest

from crowd_sft import data
from crowd_sft.data import GENRES, as_preferences, derive_preferences, load_preferences, read_pivot_csv

RAW = Path("/work/shared/data")
PACKAGE_DATA = Path(data.__file__).parent / "data"


def test_bundled_matrix_shape_and_labels():
    p = load_preferences()
    assert p.matrix.shape == (610, 20)
    assert p.user_ids.tolist() == list(range(1, 611))
    assert p.genres == GENRES
    assert list(GENRES) == sorted(GENRES)  # alphabetical (byte order) as the spec says
    # mean ratings live on the MovieLens 0.5..5 scale; 0 means "rated no movie of that genre"
    nz = p.matrix[p.matrix != 0]
    assert nz.min() >= 0.5 and nz.max() <= 5.0
    assert not p.matrix.flags.writeable


def test_licence_and_attribution_ship_beside_the_data():
    readme = (PACKAGE_DATA / "README.txt").read_text(encoding="utf-8", errors="replace")
    assert "Harper" in readme and "Konstan" in readme
    attribution = (PACKAGE_DATA / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "10.1145/2827872" in attribution
    assert not (PACKAGE_DATA / "ratings.csv").exists()
    assert sum(f.stat().st_size for f in PACKAGE_DATA.iterdir()) < 100_000


@pytest.mark.skipif(not (RAW / "ratings.csv").exists(), reason="raw MovieLens files not present on this machine")
def test_derivation_reproduces_authors_pivot_and_shipped_copy():
    derived = derive_preferences(RAW / "ratings.csv", RAW / "movies.csv")
    pivot = read_pivot_csv(RAW / "user_genre_pivot_mean.csv")
    shipped = load_preferences()
    assert derived.genres == pivot.genres == shipped.genres == GENRES
    assert np.array_equal(derived.user_ids, pivot.user_ids)
    np.testing.assert_allclose(derived.matrix, pivot.matrix, rtol=0, atol=1e-12)
    np.testing.assert_allclose(shipped.matrix, derived.matrix, rtol=0, atol=1e-12)


def test_derivation_on_a_tiny_handmade_dataset(tmp_path):
    (tmp_path / "movies.csv").write_text(
        'movieId,title,genres\n1,"A, the movie (1999)",Action|Comedy\n2,B (2000),Comedy\n3,C (2001),Drama\n')
    (tmp_path / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,0\n1,2,2.0,0\n2,3,5.0,0\n2,1,1.5,0\n")
    p = derive_preferences(tmp_path / "ratings.csv", tmp_path / "movies.csv")
    assert p.genres == ("Action", "Comedy", "Drama")
    np.testing.assert_array_equal(p.matrix, [[4.0, 3.0, 0.0], [1.5, 1.5, 5.0]])


def test_arbitrary_arrays_are_accepted_and_validated():
    p = as_preferences(np.arange(12.0).reshape(4, 3))
    assert p.user_ids.tolist() == [1, 2, 3, 4] and p.n_dims == 3
    with pytest.raises(ValueError, match="preferences"):
        as_preferences(np.zeros(5))
    with pytest.raises(ValueError, match="preferences"):
        as_preferences(np.zeros((1, 3)))
    bad = np.ones((4, 3))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        as_preferences(bad)
