"""Chunked fits, partial_fit and Dask (a real distributed LocalCluster)."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sklearn_metal import LabelModel, LFApplier, labeling_function
from sklearn_metal.datasets import make_label_matrix


def _one_class_lfs(n=6000, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.choice(2, size=n, p=[0.6, 0.4])
    L = np.full((n, 6), -1)
    for j in range(6):
        cls = j % 2
        fire = rng.random_sample(n) < np.where(y == cls, 0.4, 0.05)
        L[fire, j] = cls
    return L, y


@pytest.mark.parametrize("method", ["moments", "auto", "em"])
def test_chunked_fit_equals_in_memory_fit(method):
    L, y, _ = make_label_matrix(
        20_000, 8, 3, class_balance=[0.5, 0.3, 0.2], random_state=0
    )
    whole = LabelModel(3, method=method, chunk_rows=None).fit(L)
    chunked = LabelModel(3, method=method, chunk_rows=3001).fit(L)
    np.testing.assert_allclose(
        chunked.predict_proba(L), whole.predict_proba(L), atol=1e-10
    )
    np.testing.assert_allclose(chunked.class_balance_, whole.class_balance_, atol=1e-10)
    assert chunked.n_iter_ == whole.n_iter_


@pytest.mark.parametrize("kind", ["memmap", "sparse", "frame"])
def test_chunked_inputs_and_gold(kind, tmp_path):
    L, y = _one_class_lfs()
    gold = np.where(np.arange(len(y)) < 500, y, -1)
    whole = LabelModel(chunk_rows=None).fit(L, gold)
    if kind == "memmap":
        np.save(tmp_path / "L.npy", L.astype(np.int8))
        X = np.load(tmp_path / "L.npy", mmap_mode="r")
    elif kind == "sparse":
        rows, cols = np.nonzero(L != -1)
        X = sp.csr_matrix((L[rows, cols], (rows, cols)), shape=L.shape)
    else:
        X = pd.DataFrame(L, columns=[f"lf{j}" for j in range(6)])
    chunked = LabelModel(chunk_rows=999).fit(X, gold)
    np.testing.assert_allclose(
        chunked.predict_proba(X), whole.predict_proba(L), atol=1e-10
    )


def test_chunked_errors_name_the_row():
    L, _ = _one_class_lfs()
    L[4321, 2] = 5
    with pytest.raises(ValueError, match=r"column 2 holds the value 5 at row 4321;"):
        LabelModel(chunk_rows=1000).fit(L)
    model = LabelModel(chunk_rows=1000).fit(L[:4000])
    with pytest.raises(ValueError, match=r"column 2 holds the value 5 at row 4321;"):
        model.predict_proba(L)
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match=r"column 2 holds the value 5 at row 4321;"):
        model.predict_proba(da.from_array(L, chunks=(1000, -1))).compute(
            scheduler="synchronous"
        )


@pytest.mark.parametrize("kind", ["dense", "sparse", "repeated"])
def test_threads_give_the_same_model(kind):
    # n_jobs threads run the blocks; their sums are added in block order, so
    # the model is the same to the last bit
    L, y, _ = make_label_matrix(20_000, 9, 3, random_state=5)
    if kind == "repeated":  # merged into weighted rows, in blocks of 3001
        L = L[np.random.RandomState(0).randint(0, 500, size=20_000)]
    gold = np.where(np.arange(len(y)) % 40 == 0, y, -1)
    X = L
    if kind == "sparse":
        rows, cols = np.nonzero(L != -1)
        X = sp.csr_matrix((L[rows, cols], (rows, cols)), shape=L.shape)
    for y_fit in (None, gold):
        one = LabelModel(3, chunk_rows=3001).fit(X, y_fit)
        two = LabelModel(3, chunk_rows=3001, n_jobs=2).fit(X, y_fit)
        assert two.n_iter_ == one.n_iter_
        np.testing.assert_array_equal(two.cond_probs_, one.cond_probs_)
        np.testing.assert_array_equal(two.class_balance_, one.class_balance_)
        np.testing.assert_array_equal(two.predict_proba(X), one.predict_proba(X))


def _expected_patterns(L, k):
    from sklearn_metal._streaming import pack_plan

    n, m = L.shape
    _, w, n_groups = pack_plan(m, k)
    digits = np.full((n, n_groups * w), k)
    digits[:, :m] = np.where(L >= 0, L, k)
    powers = (k + 1) ** np.arange(w)
    return (digits.reshape(n, n_groups, w) * powers).sum(axis=2).T


@pytest.mark.parametrize("m", [3, 7])
def test_pack_votes_results_outlive_its_scratch_arrays(m):
    # pack_votes reuses per-thread scratch arrays between calls: what it
    # returned must not change, and padding must follow the number of sources
    from sklearn_metal._streaming import pack_votes

    rng = np.random.default_rng(m)
    first_L, second_L = rng.integers(-1, 3, size=(2, 100, m))
    first = pack_votes(first_L, 3)
    kept = first.copy()
    second = pack_votes(second_L, 3)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(first, _expected_patterns(first_L, 3))
    np.testing.assert_array_equal(second, _expected_patterns(second_L, 3))
    # one source fewer, the same padded width (groups of 4 for k = 3)
    fewer = pack_votes(second_L[:, 1:], 3)
    np.testing.assert_array_equal(fewer, _expected_patterns(second_L[:, 1:], 3))


@pytest.mark.parametrize("k", [2, 3, 5, 8, 20, 127])
@pytest.mark.parametrize("m", [1, 7, 8, 10, 13])
def test_packed_group_indices_match_the_votes(k, m):
    from sklearn_metal._streaming import (
        _group_tables,
        pack_votes,
        packed_lookup,
        packed_tallies,
    )

    rng = np.random.default_rng(k * 100 + m)
    L = rng.integers(-1, k, size=(500, m))
    weights = rng.random((3, 500))
    factors = rng.random((m, k, 4))
    idx = pack_votes(L, k)
    # pattern numbers: each group's votes as digits in base k + 1, an abstain
    # (and a padding source past m) being digit k
    np.testing.assert_array_equal(idx, _expected_patterns(L, k))
    # lookups: sum over sources of a per-(source, vote) entry, abstains add 0
    expected = np.zeros((500, 4))
    for j in range(m):
        voted = L[:, j] >= 0
        expected[voted] += factors[j, L[voted, j]]
    np.testing.assert_allclose(
        packed_lookup(idx, _group_tables(factors, m, k)).T, expected
    )
    # tallies: weighted counts of each (source, vote)
    tallies = packed_tallies(idx, weights, m, k)
    counts = packed_tallies(idx, np.ones((1, 500)), m, k)[:, :, 0]
    for j in range(m):
        for a in range(k):
            hit = L[:, j] == a
            np.testing.assert_allclose(tallies[j, a], weights[:, hit].sum(axis=1))
            assert counts[j, a] == hit.sum()
    # every integer dtype that holds -1 packs the same
    for dtype in (np.int8, np.int16, np.int32):
        if k <= np.iinfo(dtype).max:
            np.testing.assert_array_equal(pack_votes(L.astype(dtype), k), idx)
    # int8 rows are read in place, a group at a time (the last group reaching
    # back into the one before); other layouts are copied: all pack the same
    if k <= 127:
        wide = np.full((500, m + 5), 7, dtype=np.int8)
        wide[:, 2 : m + 2] = L
        for block in (
            wide[:, 2 : m + 2],
            np.asfortranarray(L.astype(np.int8)),
            np.repeat(L.astype(np.int8), 2, axis=0)[::2],  # rows apart
        ):
            np.testing.assert_array_equal(pack_votes(block, k), idx)


@pytest.mark.parametrize("k", [2, 5])
@pytest.mark.parametrize("n_weights", [1, 3])
def test_histograms_of_mostly_abstaining_groups(k, n_weights):
    # groups where most rows abstain on every source are counted in four
    # copies of the histogram (see packed_histograms): the tallies are the
    # same sums
    from sklearn_metal._streaming import pack_votes, packed_histograms, packed_tallies

    rng = np.random.default_rng(k)
    m, n = 13, 6000
    L = np.where(rng.random((n, m)) < 0.05, rng.integers(0, k, size=(n, m)), -1)
    L[:, :4] = rng.integers(-1, k, size=(n, 4))  # one group votes often
    weights = rng.random((n_weights, n))
    idx = pack_votes(L, k)
    abstain = (idx == idx.max()).mean(axis=1)
    assert abstain.max() > 0.75 and abstain.min() < 0.4  # both kinds of group
    tallies = packed_tallies(idx, weights, m, k)
    for j in range(m):
        for a in range(k):
            hit = L[:, j] == a
            np.testing.assert_allclose(tallies[j, a], weights[:, hit].sum(axis=1))
    hist = packed_histograms(idx, weights, m, k)
    for g in range(len(idx)):
        for c in range(n_weights):
            expected = np.bincount(idx[g], weights[c], minlength=hist.shape[1])
            np.testing.assert_allclose(hist[g, :, c], expected)


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 20])
@pytest.mark.parametrize("duplicates", [False, True])
def test_packed_fit_equals_the_one_hot_fit(k, duplicates):
    # dense integer input read in blocks takes the packed path (duplicate rows
    # merged into weighted rows when that halves them); the in-memory one-hot
    # path is the reference
    L, y, _ = make_label_matrix(20_000, 9, k, random_state=k)
    if duplicates:
        L = L[np.random.RandomState(0).randint(0, 500, size=20_000)]
    reference = LabelModel(k, chunk_rows=None).fit(L)
    for X in (L, L.astype(np.int8)):
        packed = LabelModel(k, chunk_rows=3001).fit(X)
        assert packed.n_iter_ == reference.n_iter_
        np.testing.assert_allclose(
            packed.class_balance_, reference.class_balance_, atol=1e-10
        )
        np.testing.assert_allclose(
            packed.cond_probs_, reference.cond_probs_, atol=1e-10
        )
        np.testing.assert_allclose(
            packed.predict_proba(X), reference.predict_proba(L), atol=1e-10
        )
    gold = np.where(np.arange(len(y)) % 50 == 0, y, -1)
    np.testing.assert_allclose(
        LabelModel(k, chunk_rows=3001).fit(L, gold).predict_proba(L),
        LabelModel(k, chunk_rows=None).fit(L, gold).predict_proba(L),
        atol=1e-10,
    )


def test_votes_beyond_one_byte_take_the_general_path():
    # k > 127: votes do not fit in int8, so nothing is packed
    rng = np.random.RandomState(0)
    L = rng.randint(-1, 200, size=(70_000, 3))
    L[:, 1] = np.where(rng.rand(70_000) < 0.5, L[:, 0], L[:, 1])
    packed = LabelModel(200).fit(L)
    reference = LabelModel(200, chunk_rows=None).fit(L)
    np.testing.assert_allclose(
        packed.predict_proba(L[:500]), reference.predict_proba(L[:500]), atol=1e-10
    )


def test_default_fit_merges_repeated_rows_of_a_large_matrix():
    # n >= 20,000 over few sources: the default fit merges duplicate rows
    L, _, _ = make_label_matrix(2_000, 6, 3, random_state=3)
    L = L[np.random.RandomState(1).randint(0, 2_000, size=80_000)]
    merged = LabelModel(3).fit(L)
    reference = LabelModel(3, chunk_rows=None).fit(L)
    assert merged.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(merged.cond_probs_, reference.cond_probs_, atol=1e-10)
    np.testing.assert_allclose(
        merged.predict_proba(L), reference.predict_proba(L), atol=1e-10
    )


def _fit_paths(monkeypatch):
    """Record which fit each LabelModel.fit call takes."""
    paths = []
    for name, tag in (("_fit_streaming", "packed"), ("_fit_params", "one-hot")):
        original = getattr(LabelModel, name)

        def spy(self, *args, _original=original, _tag=tag, **kwargs):
            paths.append(_tag)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(LabelModel, name, spy)
    return paths


def test_default_fit_packs_a_small_memory_map_once(monkeypatch, tmp_path):
    # below 2**24 entries a memory map takes the in-memory fit: it used to go
    # to the one-hot passes there (30x slower at 1e6 x 10 x 2); now its
    # pattern numbers are kept as for an array, and its rows merge
    from sklearn_metal import _streaming

    L, _, _ = make_label_matrix(40_000, 10, 2, coverages=0.3, random_state=6)
    np.save(tmp_path / "L.npy", L.astype(np.int8))
    X = np.load(tmp_path / "L.npy", mmap_mode="r")
    packs = []
    original = _streaming.pack_matrix

    def spy(L, *args, **kwargs):
        packed = original(L, *args, **kwargs)
        packs.append(packed is not None and sum(b.idx.shape[1] for b in packed))
        return packed

    monkeypatch.setattr(_streaming, "pack_matrix", spy)
    paths = _fit_paths(monkeypatch)
    model = LabelModel(2).fit(X)
    assert paths == ["packed"] and len(packs) == 1 and 0 < packs[0] < 20_000
    reference = LabelModel(2, chunk_rows=None).fit(L)
    assert model.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(model.cond_probs_, reference.cond_probs_, atol=1e-10)
    np.testing.assert_allclose(
        model.predict_proba(X), reference.predict_proba(L), atol=1e-10
    )


@pytest.mark.parametrize("with_gold", [False, True])
def test_default_fit_packs_a_mid_sized_matrix_with_many_votes(monkeypatch, with_gold):
    # 30,000 distinct rows with 15 of 50 sources voting: packed passes are
    # cheaper than one-hot ones, so the default fit packs (gold labels too)
    L, y, _ = make_label_matrix(30_000, 50, 2, coverages=0.3, random_state=5)
    gold = np.where(np.arange(30_000) % 10 == 0, y, -1) if with_gold else None
    paths = _fit_paths(monkeypatch)
    packed = LabelModel(2).fit(L, gold)
    reference = LabelModel(2, chunk_rows=None).fit(L, gold)
    assert paths == ["packed", "one-hot"]
    assert packed.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(packed.cond_probs_, reference.cond_probs_, atol=1e-10)
    np.testing.assert_allclose(
        packed.class_balance_, reference.class_balance_, atol=1e-10
    )
    np.testing.assert_allclose(
        packed.predict_proba(L[:2000]), reference.predict_proba(L[:2000]), atol=1e-10
    )


def test_default_fit_keeps_the_one_hot_path_for_sparse_votes(monkeypatch):
    # few votes per row (2.5 of 50 sources, k = 5): a packed pass would do
    # more lookups than the one-hot pass has votes, and rows are distinct
    L, _, _ = make_label_matrix(30_000, 50, 5, coverages=0.05, random_state=6)
    paths = _fit_paths(monkeypatch)
    LabelModel(5).fit(L)
    LabelModel(5).fit(L[:19_999])  # below 20,000 rows: never packed
    assert paths == ["one-hot", "one-hot"]


def test_default_fit_packs_from_half_the_lookups_at_100_000_rows(monkeypatch):
    # 2.5 of 50 sources voting, k = 2: votes * k is 0.71 of the packed
    # lookups, enough from 100,000 rows (where packed passes measured faster)
    # but not below
    L, _, _ = make_label_matrix(100_000, 50, 2, coverages=0.05, random_state=7)
    paths = _fit_paths(monkeypatch)
    LabelModel(2).fit(L)
    LabelModel(2).fit(L[:99_999])
    assert paths == ["packed", "one-hot"]


def _sparse(L, fmt):
    rows, cols = np.nonzero(L != -1)
    return sp.coo_matrix((L[rows, cols], (rows, cols)), shape=L.shape).asformat(fmt)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("chunk_rows", ["auto", 7_001])
def test_sparse_integer_votes_are_packed_like_dense_ones(fmt, chunk_rows):
    # sparse integer votes are made dense block by block (or whole, below
    # 2**24 entries) and packed: the same model and predictions as dense L
    L, y, _ = make_label_matrix(30_000, 20, 3, coverages=0.3, random_state=8)
    X = _sparse(L, fmt)
    dense = LabelModel(3, chunk_rows=None).fit(L)
    model = LabelModel(3, chunk_rows=chunk_rows).fit(X)
    assert model.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(model.cond_probs_, dense.cond_probs_, atol=1e-10)
    np.testing.assert_allclose(
        model.predict_proba(X), dense.predict_proba(L), atol=1e-10
    )
    # a stored -1 is an abstain too (here half the class-0 votes become -1s)
    X = X.tocsr()
    X.data[np.flatnonzero(X.data == 0)[::2]] = -1
    L_abstain = L.copy()
    coo = X.tocoo()
    L_abstain[coo.row, coo.col] = coo.data
    assert (L_abstain == 0).any() and (L_abstain == -1).sum() > (L == -1).sum()
    np.testing.assert_allclose(
        LabelModel(3, chunk_rows=chunk_rows).fit(X).cond_probs_,
        LabelModel(3, chunk_rows=None).fit(L_abstain).cond_probs_,
        atol=1e-10,
    )


@pytest.mark.parametrize("chunk_rows", ["auto", 7_001, None])
def test_sparse_duplicate_entries_and_bad_values_are_named(chunk_rows):
    L, _, _ = make_label_matrix(30_000, 20, 3, coverages=0.3, random_state=9)
    rows, cols = np.nonzero(L != -1)
    data = L[rows, cols]
    # one (row, source) stored twice: not added up, not dropped
    twice = sp.coo_matrix(
        (np.r_[data, 1], (np.r_[rows, 12_345], np.r_[cols, cols[0]])), shape=L.shape
    )
    model = LabelModel(3, chunk_rows=chunk_rows)
    with pytest.raises(ValueError, match="duplicate entries"):
        model.fit(twice)
    with pytest.raises(ValueError, match="duplicate entries"):
        model.fit(_with_duplicate_csr(L))
    fitted = LabelModel(3, chunk_rows=chunk_rows).fit(_sparse(L, "csr"))
    with pytest.raises(ValueError, match="duplicate entries"):
        fitted.predict_proba(twice)
    bad = _sparse(L, "csr")
    bad.data[bad.indptr[25_000]] = 7
    with pytest.raises(ValueError, match=r"value 7"):
        LabelModel(3, chunk_rows=chunk_rows).fit(bad)


@pytest.mark.parametrize("chunk_rows", ["auto", 7_001])
def test_integer_dataframes_are_packed_and_keep_their_names(chunk_rows, monkeypatch):
    # columns of numpy integer dtypes (mixed widths) are packed like an array;
    # names stay in feature_names_in_ and in the messages about bad entries
    L, _, _ = make_label_matrix(30_000, 20, 3, coverages=0.3, random_state=1)
    names = [f"lf{j}" for j in range(20)]
    frame = pd.DataFrame(L, columns=names).astype({"lf3": "int64", "lf4": "int8"})
    paths = _fit_paths(monkeypatch)
    model = LabelModel(3, chunk_rows=chunk_rows).fit(frame)
    reference = LabelModel(3, chunk_rows=None).fit(L)
    assert paths == ["packed", "one-hot"]
    assert list(model.feature_names_in_) == names
    np.testing.assert_allclose(model.cond_probs_, reference.cond_probs_, atol=1e-10)
    np.testing.assert_allclose(
        model.predict_proba(frame), reference.predict_proba(L), atol=1e-10
    )
    bad = frame.copy()
    bad.iloc[22_222, 4] = 9
    with pytest.raises(ValueError, match=r"column 'lf4' \(index 4\) holds the value 9"):
        LabelModel(3, chunk_rows=chunk_rows).fit(bad)
    with pytest.raises(ValueError, match=r"column 'lf4' \(index 4\) holds the value 9"):
        model.predict_proba(bad)


@pytest.mark.parametrize("kind", ["array", "frame", "csr"])
@pytest.mark.parametrize("chunk_rows", ["auto", 7_001])
def test_float_votes_that_are_integers_are_packed(kind, chunk_rows, monkeypatch):
    # float votes that are all integers in -1..k-1 are read as int8 votes;
    # NaN, infinities and fractions still reach the validation, which names them
    L, _, _ = make_label_matrix(30_000, 20, 3, coverages=0.3, random_state=2)

    def as_kind(values):
        if kind == "frame":
            return pd.DataFrame(values)
        if kind == "csr":
            rows, cols = np.nonzero(values != -1)
            return sp.csr_matrix((values[rows, cols], (rows, cols)), shape=L.shape)
        return values

    X = as_kind(L.astype(np.float64))
    paths = _fit_paths(monkeypatch)
    model = LabelModel(3, chunk_rows=chunk_rows).fit(X)
    reference = LabelModel(3, chunk_rows=None).fit(L)
    assert paths == ["packed", "one-hot"]
    np.testing.assert_allclose(model.cond_probs_, reference.cond_probs_, atol=1e-10)
    np.testing.assert_allclose(
        model.predict_proba(X), reference.predict_proba(L), atol=1e-10
    )
    for value, message in [(0.5, "non-integer value 0.5"), (np.nan, "holds NaN")]:
        bad = L.astype(np.float64)
        bad[23_456, 7] = value
        with pytest.raises(ValueError, match=message):
            LabelModel(3, chunk_rows=chunk_rows).fit(as_kind(bad))
        with pytest.raises(ValueError, match=message):
            model.predict_proba(as_kind(bad))


def _int8_at_offset(L, offset):
    """``L`` as ``int8`` rows of ``m + 3`` bytes (votes in bytes 1..m) in a
    buffer that starts ``offset`` bytes in: every word read is unaligned."""
    n, m = L.shape
    buffer = np.empty(n * (m + 3) + offset, dtype=np.uint8)
    rows = np.ndarray((n, m + 3), dtype=np.int8, buffer=buffer, offset=offset)
    rows[:, 1 : m + 1] = L
    return rows[:, 1 : m + 1]


@pytest.mark.parametrize(
    "layout",
    ["fortran_memmap", "reversed_rows", "reversed_both", "odd_offset", ">i2", "frozen"],
)
def test_packed_votes_in_any_memory_layout(layout, tmp_path, monkeypatch):
    # packed blocks read int8 rows in place through unaligned row-strided
    # words, and copy other layouts into padded rows: the same model either
    # way. 23 sources of k = 3 are 5 groups of 4, the last reaching back
    # into the one before; 6.9 votes per row make the default fit pack
    from sklearn_metal import _streaming

    L, y, _ = make_label_matrix(30_000, 23, 3, coverages=0.3, random_state=4)
    reference = LabelModel(3, chunk_rows=None).fit(L)
    chunk_rows = "auto"
    if layout == "fortran_memmap":  # a memory map packs in blocks, every pass
        np.save(tmp_path / "L.npy", np.asfortranarray(L, dtype=np.int8))
        X, chunk_rows = np.load(tmp_path / "L.npy", mmap_mode="r"), 7_001
        assert X.flags.f_contiguous
    elif layout == "reversed_rows":
        X = L[::-1].astype(np.int8)[::-1]
    elif layout == "reversed_both":
        X = L[::-1, ::-1].astype(np.int8)[::-1, ::-1]
    elif layout == "odd_offset":
        X = _int8_at_offset(L, 3)
    elif layout == ">i2":
        X = L.astype(">i2")
    else:
        X = L.astype(np.int8)
        X.flags.writeable = False
    reads = set()  # (packed, read in place) of every block
    original = _streaming.pack_votes

    def spy(block, k):
        idx = original(block, k)
        in_place = block.dtype == np.int8 and block.strides[1] == 1
        reads.add((idx is not None, in_place))
        return idx

    monkeypatch.setattr(_streaming, "pack_votes", spy)
    paths = _fit_paths(monkeypatch)
    model = LabelModel(3, chunk_rows=chunk_rows).fit(X)
    proba = model.predict_proba(X)  # 690,000 votes: packed blocks too
    in_place = layout in ("reversed_rows", "odd_offset", "frozen")
    assert paths == ["packed"] and reads == {(True, in_place)}
    assert model.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(model.cond_probs_, reference.cond_probs_, atol=1e-10)
    np.testing.assert_allclose(
        model.class_balance_, reference.class_balance_, atol=1e-10
    )
    np.testing.assert_allclose(proba, reference.predict_proba(L), atol=1e-10)


def _with_duplicate_csr(L):
    """A csr matrix whose row 5 stores source 0 twice (built from its arrays,
    which scipy does not check)."""
    X = _sparse(L, "csr")
    indptr, indices, data = X.indptr.copy(), X.indices.copy(), X.data.copy()
    start = indptr[5]
    indices = np.insert(indices, start, indices[start])
    data = np.insert(data, start, data[start])
    indptr[6:] += 1
    return sp.csr_matrix((data, indices, indptr), shape=L.shape)


def test_packed_merge_only_when_rows_repeat():
    from sklearn_metal._streaming import pack_matrix

    L, _, _ = make_label_matrix(4000, 12, 2, random_state=0)
    blocks = pack_matrix(L, 2, 1000)
    assert sum(b.idx.shape[1] for b in blocks) == 4000  # few repeats: kept
    assert all(b.weight is None for b in blocks)
    merged = pack_matrix(np.repeat(L[:10], 400, axis=0), 2, 1000)
    assert sum(b.idx.shape[1] for b in merged) == 10
    assert sum(b.weight.sum() for b in merged) == 4000
    # row keys of every width, sorted or (where 4 * (k+1)**m <= 3000 rows)
    # counted: the merged rows are L's distinct rows, each weighted by how
    # often it occurs
    rng = np.random.default_rng(0)
    for m, k in [(10, 2), (10, 5), (12, 5), (30, 2), (5, 2), (3, 5), (6, 3)]:
        base = rng.integers(-1, k, size=(50, m))
        repeated = base[rng.integers(0, 50, size=3000)]
        merged = pack_matrix(repeated, k, 700)
        idx = np.concatenate([b.idx for b in merged], axis=1)
        weight = np.concatenate([b.weight for b in merged])
        rows, counts = np.unique(repeated, axis=0, return_counts=True)
        patterns = _expected_patterns(rows, k).T
        expected = dict(zip(map(tuple, patterns), counts, strict=True))
        got = dict(zip(map(tuple, idx.T.astype(int)), weight, strict=True))
        assert got == expected
    # float votes pack when they are all integers, and not otherwise
    as_float = pack_matrix(L.astype(float), 2, 1000)
    for a, b in zip(as_float, blocks, strict=True):
        np.testing.assert_array_equal(a.idx, b.idx)
    assert pack_matrix(L + 0.5, 2, 1000) is None


def test_partial_fit_matches_moment_fit_and_tracks_balance():
    L, y = _one_class_lfs(n=9000)
    batch = LabelModel(method="moments", chunk_rows=None).fit(L)
    online = LabelModel()
    for start in range(0, len(L), 1500):
        online.partial_fit(L[start : start + 1500])
    # the statistics add up over blocks: same coverages, and the same source
    # parameters up to the (online vs batch) class balance they are scaled by
    np.testing.assert_allclose(online.coverages_, batch.coverages_, atol=1e-12)
    np.testing.assert_allclose(online.class_balance_, batch.class_balance_, atol=0.02)
    np.testing.assert_allclose(online.cond_probs_, batch.cond_probs_, atol=0.01)
    assert online.n_iter_ == 6  # one per partial_fit call: 9000 rows / 1500
    assert online.score(L, y) > batch.score(L, y) - 0.01
    with pytest.raises(ValueError, match="expecting 6 features"):
        online.partial_fit(L[:10, :4])


@pytest.mark.parametrize("chunk_rows", [None, 500])
def test_partial_fit_loss_counts_gold_rows_as_fit_does(chunk_rows):
    # loss_history_ counts a gold row as -log P(y_gold), in the mean over the
    # rows with a vote or a gold label: a first partial_fit call sees the same
    # statistics and starting balance as fit(method="moments")'s first
    # iteration, so its one entry is that iteration's loss (without the gold
    # term it was 1.52 against 1.72)
    L, y = _one_class_lfs(n=2000)
    L[:50] = -1  # gold rows on which every source abstains count too
    gold = np.where(np.arange(len(L)) % 4 == 0, y, -1)
    batch = LabelModel(method="moments", max_iter=1, chunk_rows=chunk_rows)
    with pytest.warns(ConvergenceWarning):
        batch.fit(L, gold)
    online = LabelModel(chunk_rows=chunk_rows).partial_fit(L, gold)
    assert online.loss_history_ == pytest.approx(batch.loss_history_, rel=1e-12)
    # the gold term: without the gold labels on the same rows the loss differs
    plain = LabelModel(chunk_rows=chunk_rows).partial_fit(L)
    assert plain.loss_history_[0] != pytest.approx(online.loss_history_[0])


def test_dask_fit_and_predict_on_a_local_cluster(client):
    da = pytest.importorskip("dask.array")
    L, y, _ = make_label_matrix(30_000, 8, 3, random_state=1)
    gold = np.where(np.arange(len(y)) < 300, y, -1)
    whole = LabelModel(3, chunk_rows=None).fit(L, gold)
    dL = da.from_array(L, chunks=(7000, 8))
    model = LabelModel(3).fit(dL, gold)
    assert len(client.scheduler_info()["workers"]) == 2
    proba = model.predict_proba(dL)
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), whole.predict_proba(L), atol=1e-6)
    np.testing.assert_array_equal(model.predict(dL).compute(), whole.predict(L))


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.float64])
def test_dask_blocks_without_rows(dtype):
    # a filtered dask DataFrame leaves empty partitions, so its votes have
    # empty row chunks: they add nothing, where they used to raise "Found
    # array with 0 sample(s)" in the fit and in predict_proba
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    L, y, _ = make_label_matrix(5000, 12, 3, coverages=0.3, random_state=1)
    gold = np.where(np.arange(5000) % 7 == 0, y, -1)
    weight = np.random.default_rng(0).uniform(0, 2, 5000)
    whole = LabelModel(3, chunk_rows=None).fit(L, gold, sample_weight=weight)
    dL = da.from_array(L.astype(dtype), chunks=((1, 0, 2000, 0, 2999), (12,)))
    with dask.config.set(scheduler="synchronous"):
        model = LabelModel(3).fit(dL, gold, sample_weight=weight)
        proba = model.predict_proba(dL).compute()
        unknown = dL[dL[:, 0] > -2]  # row chunks unknown, two of them empty
        assert np.isnan(unknown.chunks[0]).all()
        lazy = whole.predict_proba(unknown).compute()
    assert model.n_iter_ == whole.n_iter_
    np.testing.assert_allclose(model.cond_probs_, whole.cond_probs_, atol=1e-12)
    np.testing.assert_allclose(proba, whole.predict_proba(L), atol=1e-12)
    np.testing.assert_allclose(lazy, whole.predict_proba(L), atol=1e-12)


def test_dask_dataframe_and_unknown_chunk_sizes(client):
    dd = pytest.importorskip("dask.dataframe")
    L, _, _ = make_label_matrix(6000, 5, 2, random_state=2)
    frame = pd.DataFrame(L, columns=[f"lf{j}" for j in range(5)])
    whole = LabelModel(chunk_rows=None).fit(frame)
    ddf = dd.from_pandas(frame, npartitions=3)
    model = LabelModel().fit(ddf)  # its partitions' lengths are computed
    assert model.feature_names_in_.tolist() == frame.columns.tolist()
    np.testing.assert_allclose(model.cond_probs_, whole.cond_probs_, atol=1e-6)
    np.testing.assert_allclose(
        model.predict_proba(ddf).compute(), whole.predict_proba(frame), atol=1e-6
    )
    # an array with unknown row chunks: the fit says how to get them, and
    # prediction (lazy, block by block) does not need them
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        LabelModel().fit(ddf.to_dask_array())
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        LabelModel().partial_fit(ddf.to_dask_array())
    unnamed = LabelModel(chunk_rows=None).fit(L)
    np.testing.assert_allclose(
        unnamed.predict_proba(ddf.to_dask_array()).compute(),
        unnamed.predict_proba(L),
        atol=1e-12,
    )


def test_lf_applier_on_a_dask_dataframe(client):
    dd = pytest.importorskip("dask.dataframe")

    @labeling_function()
    def has_link(x):
        return 1 if "http" in x.text else -1

    @labeling_function()
    def short(x):
        return 0 if len(x.text) < 10 else -1

    texts = ["nice", "see http://a", "great song!", "http://b now"] * 50
    frame = pd.DataFrame({"text": texts})
    applier = LFApplier([has_link, short]).fit(frame)
    local = applier.transform(frame)
    dask_L = applier.transform(dd.from_pandas(frame, npartitions=4))
    np.testing.assert_array_equal(dask_L.compute(), local)
    model = LabelModel().fit(dask_L)
    np.testing.assert_allclose(
        model.predict_proba(dask_L).compute(),
        LabelModel(chunk_rows=None).fit(local).predict_proba(local),
        atol=1e-6,
    )


def test_blocked_fit_and_predict_take_lists():
    L, _, _ = make_label_matrix(40, 4, random_state=0)
    rows = L.tolist()
    blocked = LabelModel(chunk_rows=7).fit(rows)
    np.testing.assert_allclose(
        blocked.predict_proba(rows), LabelModel(chunk_rows=7).fit(L).predict_proba(L)
    )


# ------------------------------------------------------------- sample_weight
def _assert_same_fit(weighted, repeated, L, rtol=1e-6):
    assert weighted.n_iter_ == repeated.n_iter_
    for attr in ("class_balance_", "cond_probs_", "coverages_", "loss_history_"):
        np.testing.assert_allclose(
            getattr(weighted, attr), getattr(repeated, attr), rtol=rtol, atol=1e-12
        )
    proba = weighted.predict_proba(L)
    if hasattr(proba, "compute"):
        proba = proba.compute()
    np.testing.assert_allclose(proba, repeated.predict_proba(L), rtol=rtol, atol=1e-12)


def _weighted_votes(n, m, k, repeats=None, coverage=0.6, seed=0):
    """Votes, gold labels (one in ten rows) and integer weights 0..3."""
    L, y, _ = make_label_matrix(n, m, k, coverages=coverage, random_state=seed)
    rng = np.random.RandomState(seed)
    if repeats is not None:  # few distinct rows: the packed fit merges them
        L = L[rng.randint(0, repeats, size=n)]
    gold = np.where(rng.rand(n) < 0.1, y, -1)
    return L, gold, rng.randint(0, 4, size=n)


@pytest.mark.parametrize(
    "kind", ["packed", "merged", "chunked", "sparse", "memmap", "threads"]
)
@pytest.mark.parametrize("with_gold", [False, True])
def test_sample_weight_equals_repeated_rows_on_every_path(
    kind, with_gold, tmp_path, monkeypatch
):
    # the packed fit carries the weights in its blocks (summed where rows
    # merge); blocks read from L get their slice of them
    if kind == "packed":  # many votes per row: the default fit packs
        k, (L, gold, weights) = 2, _weighted_votes(25_000, 40, 2, coverage=0.3)
    elif kind == "merged":
        k, (L, gold, weights) = 3, _weighted_votes(25_000, 9, 3, repeats=400)
    else:
        k, (L, gold, weights) = 3, _weighted_votes(8_000, 9, 3)
    gold = gold if with_gold else None
    L_rep = L.repeat(weights, axis=0)
    gold_rep = None if gold is None else gold.repeat(weights)
    model = LabelModel(k)
    if kind in ("chunked", "sparse", "memmap"):
        model.set_params(chunk_rows=1001)
    elif kind == "threads":
        model.set_params(chunk_rows=1001, n_jobs=2)
    X, X_rep = L, L_rep
    if kind == "sparse":
        X, X_rep = _sparse(L, "csr"), _sparse(L_rep, "csr")
    elif kind == "memmap":
        np.save(tmp_path / "L.npy", L.astype(np.int8))
        X = np.load(tmp_path / "L.npy", mmap_mode="r")
    paths = _fit_paths(monkeypatch)
    weighted = clone(model).fit(X, gold, sample_weight=weights)
    repeated = clone(model).fit(X_rep, gold_rep)
    assert paths == ["packed", "packed"]
    _assert_same_fit(weighted, repeated, L)


def test_pack_matrix_merges_sample_weights():
    from sklearn_metal._streaming import pack_matrix

    rng = np.random.default_rng(1)
    # m = 5: row keys counted; m = 12: sorted (see pack_matrix)
    for m, k in [(5, 2), (12, 3)]:
        base = rng.integers(-1, k, size=(40, m))
        L = base[rng.integers(0, 40, size=3000)]
        weights = rng.integers(0, 4, size=3000).astype(float)
        weights[np.all(L == base[0], axis=1)] = 0.0  # a row of weight 0 in all
        merged = pack_matrix(L, k, 700, sample_weight=weights)
        idx = np.concatenate([b.idx for b in merged], axis=1)
        got = dict(
            zip(
                map(tuple, idx.T.astype(int)),
                np.concatenate([b.weight for b in merged]),
                strict=True,
            )
        )
        rows, inverse = np.unique(L, axis=0, return_inverse=True)
        sums = np.bincount(inverse.ravel(), weights=weights)
        patterns = map(tuple, _expected_patterns(rows, k).T)
        expected = {p: w for p, w in zip(patterns, sums, strict=True) if w > 0}
        assert got == expected
    # rows that do not repeat stay, each block with its rows' weights
    L, _, _ = make_label_matrix(3000, 12, 2, random_state=0)
    weights = rng.random(3000)
    blocks = pack_matrix(L, 2, 700, sample_weight=weights)
    assert [b.idx.shape[1] for b in blocks] == [700, 700, 700, 700, 200]
    np.testing.assert_array_equal(np.concatenate([b.weight for b in blocks]), weights)


@pytest.mark.parametrize("repeats", [None, 300])
def test_fractional_sample_weights_agree_across_paths(repeats):
    # weights need not be whole: the packed fit (merged or not) and the
    # blocked one-hot fit give the in-memory one-hot fit's model
    L, gold, _ = _weighted_votes(21_000, 9, 3, repeats=repeats)
    weights = np.random.RandomState(3).gamma(0.5, 2.0, size=len(L))
    for y in (None, gold):
        reference = LabelModel(3, chunk_rows=None).fit(L, y, sample_weight=weights)
        for chunk_rows in ("auto", 3001):
            model = LabelModel(3, chunk_rows=chunk_rows)
            _assert_same_fit(model.fit(L, y, sample_weight=weights), reference, L)
        # the blocked one-hot path (votes that do not fit one byte)
        as_object = L.astype(object)
        model = LabelModel(3, chunk_rows=3001).fit(as_object, y, sample_weight=weights)
        _assert_same_fit(model, reference, L)


def test_partial_fit_sample_weight_equals_repeated_rows():
    L, gold, weights = _weighted_votes(9_000, 6, 2)
    weighted, repeated = LabelModel(), LabelModel()
    for start in range(0, len(L), 3000):
        rows = slice(start, start + 3000)
        w = weights[rows]
        weighted.partial_fit(L[rows], gold[rows], sample_weight=w)
        repeated.partial_fit(L[rows].repeat(w, axis=0), gold[rows].repeat(w))
    _assert_same_fit(weighted, repeated, L)
    # after fit, partial_fit goes on from the fit's weighted statistics
    first = slice(0, 6000)
    later = slice(6000, 9000)
    weighted = LabelModel().fit(L[first], sample_weight=weights[first])
    repeated = LabelModel().fit(L[first].repeat(weights[first], axis=0))
    weighted.partial_fit(L[later], sample_weight=weights[later])
    repeated.partial_fit(L[later].repeat(weights[later], axis=0))
    _assert_same_fit(weighted, repeated, L)


def test_dask_fit_with_sample_weight(client):
    # numpy weights are split along the array's row chunks; a dask array of
    # weights (chunked any way) is read into memory first, like y
    da = pytest.importorskip("dask.array")
    L, gold, weights = _weighted_votes(12_000, 8, 3)
    repeated = LabelModel(3, chunk_rows=None).fit(
        L.repeat(weights, axis=0), gold.repeat(weights)
    )
    dL = da.from_array(L, chunks=(5000, 8))
    for given in (weights, da.from_array(weights, chunks=3000)):
        weighted = LabelModel(3).fit(dL, gold, sample_weight=given)
        _assert_same_fit(weighted, repeated, dL)
    with pytest.raises(ValueError, match="11999 weights but the label matrix"):
        LabelModel(3).fit(dL, sample_weight=weights[1:])


def test_documented_memory_map_snippet(tmp_path, monkeypatch):
    # docs/scale.md's first snippet, on a small votes.npy in the working directory
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "scale.md").read_text()
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "mmap" in b]
    L = make_label_matrix(n_samples=3000, n_sources=6, cardinality=5, random_state=0)[0]
    np.save(tmp_path / "votes.npy", L.astype(np.int8))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(code, namespace)
    assert isinstance(namespace["L"], np.memmap)
    expected = LabelModel(cardinality=5).fit(L).predict_proba(L)
    np.testing.assert_allclose(namespace["proba"], expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("chunk_rows", [500, "dask"])
def test_partial_fit_after_a_blocked_fit_goes_on_from_its_moments(chunk_rows):
    # a blocked fit's EM updated the tallies it kept for partial_fit in place,
    # so partial_fit after it went on from EM tallies of the sources with
    # class-independent coverage rather than from their moment statistics
    # (cond_probs_ 0.039 and predict_proba 0.20 away from partial_fit after
    # an in-memory fit of the same rows, here)
    L, _, _ = make_label_matrix(4000, 6, 2, coverages=0.6, random_state=3)
    head = L[:3000]
    if chunk_rows == "dask":
        da = pytest.importorskip("dask.array")
        head, chunk_rows = da.from_array(head, chunks=(700, 6)), "auto"
    blocked = LabelModel(chunk_rows=chunk_rows).fit(head)
    assert blocked.coverage_independent_.any()  # EM refined these sources
    in_memory = LabelModel(chunk_rows=None).fit(L[:3000])
    blocked.partial_fit(L[3000:])
    in_memory.partial_fit(L[3000:])
    np.testing.assert_allclose(
        blocked.class_balance_, in_memory.class_balance_, atol=1e-9
    )
    np.testing.assert_allclose(blocked.cond_probs_, in_memory.cond_probs_, atol=1e-9)
    np.testing.assert_allclose(
        blocked.predict_proba(L), in_memory.predict_proba(L), atol=1e-9
    )


def test_partial_fit_balance_after_a_given_balance_is_dropped():
    # class_balance given to the first partial_fit call, then set to None:
    # the first block's rows were in n_info but not in the summed posterior
    # counts, so the balance summed to 0.4997; it goes on from
    # the given balance, as partial_fit after a fit with that balance does
    L, _, _ = make_label_matrix(2000, 6, 2, coverages=0.6, random_state=4)
    given = [0.5, 0.5]
    online = LabelModel(class_balance=given).partial_fit(L[:1000])
    online.set_params(class_balance=None).partial_fit(L[1000:])
    after_fit = LabelModel(class_balance=given, method="moments").fit(L[:1000])
    after_fit.set_params(class_balance=None).partial_fit(L[1000:])
    assert online.class_balance_.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(
        online.class_balance_, after_fit.class_balance_, atol=1e-12
    )
    np.testing.assert_allclose(online.cond_probs_, after_fit.cond_probs_, atol=1e-12)


@pytest.mark.parametrize("dtype", ["bool", "category", "str"])
def test_dask_dataframe_columns_that_hold_no_votes_are_refused(dtype):
    # a pandas frame's boolean, categorical or string column is refused; in
    # a dask DataFrame to_dask_array gave its values, read as votes: a
    # boolean "fired" column was fitted as votes for classes 0 and 1, with
    # coverage 1.0, without a word
    dd = pytest.importorskip("dask.dataframe")
    L, _, _ = make_label_matrix(600, 4, 2, random_state=5)
    frame = pd.DataFrame(L, columns=["a", "b", "c", "d"])
    frame["d"] = (frame["d"] >= 0) if dtype == "bool" else frame["d"].astype(dtype)
    ddf = dd.from_pandas(frame, npartitions=3)
    message = r"column 'd' \(index 3\) has dtype"
    with pytest.raises(ValueError, match=message):
        LabelModel().fit(frame)
    with pytest.raises(ValueError, match=message):
        LabelModel().fit(ddf)
    with pytest.raises(ValueError, match=message):
        LabelModel().partial_fit(ddf)
    model = LabelModel().fit(L)
    with pytest.raises(ValueError, match=message):
        model.predict_proba(ddf)


def test_dask_dataframe_with_nullable_integer_columns():
    # pandas' nullable Int8 reads as in a pandas frame: a missing vote is
    # named (it raised a TypeError: float() argument ... not 'NAType')
    dd = pytest.importorskip("dask.dataframe")
    L, _, _ = make_label_matrix(600, 4, 2, random_state=6)
    frame = pd.DataFrame(L, columns=["a", "b", "c", "d"]).astype("Int8")
    whole = LabelModel(chunk_rows=None).fit(L)
    model = LabelModel().fit(dd.from_pandas(frame, npartitions=3))
    np.testing.assert_allclose(model.cond_probs_, whole.cond_probs_, atol=1e-10)
    frame.loc[250, "c"] = pd.NA
    ddf = dd.from_pandas(frame, npartitions=3)
    with pytest.raises(
        ValueError, match=r"column 'c' \(index 2\) holds NaN at row 250"
    ):
        LabelModel().fit(ddf)
    with pytest.raises(ValueError, match=r"column 'c' \(index 2\) holds NaN"):
        model.predict_proba(ddf).compute()


@pytest.mark.parametrize("int_type", [np.int64, np.int32, np.int8, np.uint8])
def test_numpy_integer_cardinality(int_type):
    # a numpy cardinality (L.max() + 1 of an int8 L is an np.int8) kept its
    # type in the packed codes' sizes: chunk_rows fits raised "Cannot cast
    # ufunc 'multiply' output from dtype('int64') to dtype('uint32')" for
    # np.int64, and np.int8 / np.uint8 overflowed (k + 1) ** 8 to 0 (a matmul
    # shape error, or a crash of the process writing out of bounds)
    from sklearn_metal import MajorityClassVoter, lf_summary

    L, y, _ = make_label_matrix(500, 6, cardinality=3, random_state=0)
    k = int_type(3)
    for params in ({"chunk_rows": 50}, {"chunk_rows": 50, "method": "em"}, {}):
        expected = LabelModel(cardinality=3, **params).fit(L, y).predict_proba(L)
        model = LabelModel(cardinality=k, **params).fit(L, y)
        np.testing.assert_array_equal(model.predict_proba(L), expected)
    expected = LabelModel(cardinality=3).partial_fit(L[:250]).partial_fit(L[250:])
    model = LabelModel(cardinality=k).partial_fit(L[:250]).partial_fit(L[250:])
    np.testing.assert_array_equal(model.predict_proba(L), expected.predict_proba(L))
    big, _, _ = make_label_matrix(30_000, 20, cardinality=3, random_state=0)
    np.testing.assert_array_equal(
        LabelModel(cardinality=k).fit(big).predict_proba(big[:100]),
        LabelModel(cardinality=3).fit(big).predict_proba(big[:100]),
    )
    voter = MajorityClassVoter(cardinality=k).fit(L, y)
    np.testing.assert_array_equal(
        voter.predict_proba(L), MajorityClassVoter(3).fit(L, y).predict_proba(L)
    )
    pd.testing.assert_frame_equal(
        lf_summary(L, y, cardinality=k), lf_summary(L, y, cardinality=3)
    )


def test_dask_blocks_leave_no_scratch_arrays_in_the_scheduler_threads():
    # pack_votes keeps up to four scratch arrays (8 MB each) per thread for
    # the next block; dask's pool threads outlive the fit, so they kept them
    # for as long as they lived (32 MB a thread on a distributed worker)
    from concurrent.futures import ThreadPoolExecutor

    from sklearn_metal import _streaming

    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    L, _, _ = make_label_matrix(20000, 12, random_state=0)
    Ld = da.from_array(L.astype(np.int8), chunks=(5000, 12))
    with ThreadPoolExecutor(1) as pool:
        kept = []
        with dask.config.set(pool=pool, scheduler="threads"):
            model = LabelModel().fit(Ld)
            kept.append(pool.submit(lambda: sorted(vars(_streaming._scratch))).result())
            proba = model.predict_proba(Ld).compute()
            kept.append(pool.submit(lambda: sorted(vars(_streaming._scratch))).result())
    assert kept == [[], []]
    np.testing.assert_allclose(proba, LabelModel().fit(L).predict_proba(L), atol=1e-12)
    # the blocks still get their row numbers (map_blocks' block_info)
    L[12345, 3] = 5
    with pytest.raises(ValueError, match="row 12345"):
        model.predict_proba(
            da.from_array(L.astype(np.int8), chunks=(5000, 12))
        ).compute()
