"""MovieLens-derived user preference vectors for the Crowd-SFT tournament (Experiment 2).

The paper (Sotiropoulos et al. 2025, Section IV-B) represents each human in the loop by
a vector of genre preferences taken from MovieLens ml-latest-small. Following the spec
(``shared/spec/crowd_sft.md``, "Data"), a user's vector holds, for each of the 20 genre
labels (alphabetical, including ``"(no genres listed)"`` and ``"IMAX"``), the mean rating
that user gave to movies carrying the genre, and 0 where the user rated none.

The derived 610 x 20 matrix ships with the package (``crowd_sft/data/user_genre_mean.npz``)
beside the GroupLens licence (``README.txt``) and an attribution note (``ATTRIBUTION.md``);
nothing is downloaded at run time. :func:`derive_preferences` rebuilds it from the raw
``ratings.csv`` and ``movies.csv``.

Data licence: MovieLens, research use only, cite F. M. Harper and J. A. Konstan (2015),
"The MovieLens Datasets: History and Context", ACM TiiS 5(4):19. Redistributed under the
same terms; see ``crowd_sft/data/README.txt``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["GENRES", "Preferences", "load_preferences", "derive_preferences", "as_preferences",
           "DATA_FILE", "read_pivot_csv", "write_bundled"]

GENRES: tuple[str, ...] = (
    "(no genres listed)", "Action", "Adventure", "Animation", "Children", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
"""The 20 MovieLens genre labels in alphabetical (byte) order -- the vector dimensions."""

DATA_FILE = "user_genre_mean.npz"


@dataclass(frozen=True)
class Preferences:
    """A users x dimensions matrix of preference vectors.

    Attributes
    ----------
    user_ids : numpy.ndarray
        int64 ``(n_users,)`` identifiers (MovieLens userId for the bundled data, else 1..n).
    matrix : numpy.ndarray
        float64 ``(n_users, n_dims)`` preference vectors, row ``k`` belongs to ``user_ids[k]``.
    genres : tuple of str
        Dimension labels (``GENRES`` for the bundled data).
    """

    user_ids: np.ndarray
    matrix: np.ndarray
    genres: tuple[str, ...]

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_dims(self) -> int:
        return int(self.matrix.shape[1])


def as_preferences(preferences=None) -> Preferences:
    """Return ``preferences`` as a validated :class:`Preferences`.

    Parameters
    ----------
    preferences : Preferences, array_like of shape (n_users, n_dims), or None
        ``None`` loads the bundled MovieLens matrix. An array is taken as one preference
        vector per row; user ids become ``1..n_users`` and dimensions ``dim0, dim1, ...``.

    Raises
    ------
    ValueError
        If the array is not 2-D with at least 2 rows and 1 column, or holds NaN/inf.
    """
    if preferences is None:
        return load_preferences()
    if isinstance(preferences, Preferences):
        return preferences
    matrix = np.asarray(preferences, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] < 2 or matrix.shape[1] < 1:
        raise ValueError(f"preferences must be a 2-D (users x dims) array with >= 2 rows and "
                         f">= 1 column, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("preferences must be finite (no NaN or inf entries)")
    matrix = np.ascontiguousarray(matrix)
    matrix.setflags(write=False)
    ids = np.arange(1, matrix.shape[0] + 1, dtype=np.int64)
    return Preferences(ids, matrix, tuple(f"dim{k}" for k in range(matrix.shape[1])))


@lru_cache(maxsize=1)
def load_preferences() -> Preferences:
    """Load the bundled MovieLens user x genre mean-rating matrix (610 x 20), read-only and cached.

    Returns
    -------
    Preferences
        ``user_ids`` = 1..610, ``matrix`` float64 (610, 20), ``genres`` = :data:`GENRES`.

    Examples
    --------
    >>> prefs = load_preferences()
    >>> prefs.matrix.shape, prefs.user_ids[:3].tolist()
    ((610, 20), [1, 2, 3])

    References
    ----------
    Paper Section IV-B ("Simulation Setup"); spec "Data". Harper & Konstan (2015), ACM TiiS 5(4):19.
    """
    with np.load(Path(__file__).parent / "data" / DATA_FILE, allow_pickle=False) as npz:
        user_ids = np.array(npz["user_ids"], dtype=np.int64)
        matrix = np.array(npz["matrix"], dtype=np.float64)
        genres = tuple(str(g) for g in npz["genres"])
    user_ids.setflags(write=False)
    matrix.setflags(write=False)
    return Preferences(user_ids, matrix, genres)


def derive_preferences(ratings_csv, movies_csv) -> Preferences:
    """Derive the user x genre mean-rating matrix from raw MovieLens files.

    A movie's ``genres`` field is split on ``|``; every (rating, genre) pair counts once;
    the entry is the mean rating per (user, genre), 0 if the user rated no movie of that
    genre. Genres are sorted alphabetically; users are all userIds present, ascending.

    Parameters
    ----------
    ratings_csv, movies_csv : path-like
        MovieLens ``ratings.csv`` (userId,movieId,rating,timestamp) and ``movies.csv``
        (movieId,title,genres).

    Returns
    -------
    Preferences

    Examples
    --------
    >>> prefs = derive_preferences("ratings.csv", "movies.csv")  # doctest: +SKIP

    References
    ----------
    Spec "Data" (must equal the authors' ``user_genre_pivot_mean.csv`` to 1e-12).
    """
    genre_lists: dict[int, list[str]] = {}
    with open(Path(movies_csv), newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if header[:3] != ["movieId", "title", "genres"]:
            raise ValueError(f"movies_csv must have columns movieId,title,genres, got {header}")
        for row in reader:
            genre_lists[int(row[0])] = row[2].split("|")
    genres = tuple(sorted({g for gl in genre_lists.values() for g in gl}))
    gindex = {g: k for k, g in enumerate(genres)}

    raw = np.loadtxt(Path(ratings_csv), delimiter=",", skiprows=1, usecols=(0, 1, 2),
                     dtype=np.float64, ndmin=2)
    users = raw[:, 0].astype(np.int64)
    movies = raw[:, 1].astype(np.int64)
    user_ids, urow = np.unique(users, return_inverse=True)
    # expand to one row per (rating, genre)
    rows, cols, vals = [], [], []
    for r, mv, rating in zip(urow.tolist(), movies.tolist(), raw[:, 2].tolist()):
        for g in genre_lists[mv]:
            rows.append(r)
            cols.append(gindex[g])
            vals.append(rating)
    rows_a = np.asarray(rows, dtype=np.int64)
    cols_a = np.asarray(cols, dtype=np.int64)
    sums = np.zeros((user_ids.size, len(genres)))
    counts = np.zeros((user_ids.size, len(genres)))
    np.add.at(sums, (rows_a, cols_a), np.asarray(vals))
    np.add.at(counts, (rows_a, cols_a), 1.0)
    matrix = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    return Preferences(user_ids, matrix, genres)


def read_pivot_csv(path) -> Preferences:
    """Read a ``user_genre_pivot_mean.csv``-style file (userId, then one column per genre)."""
    with open(Path(path), newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    body = np.loadtxt(Path(path), delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return Preferences(body[:, 0].astype(np.int64), body[:, 1:], tuple(header[1:]))


def write_bundled(prefs: Preferences, path) -> None:
    """Write ``prefs`` in the bundled ``.npz`` layout (used to build ``crowd_sft/data``)."""
    np.savez_compressed(Path(path), user_ids=np.asarray(prefs.user_ids, dtype=np.int64),
                        matrix=np.asarray(prefs.matrix, dtype=np.float64),
                        genres=np.asarray(prefs.genres, dtype=str))
