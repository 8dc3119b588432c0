"""Contract test over every registered aggregator, and exact outputs on a tiny crowd."""
import json

import numpy as np
import pytest

from app.consensus.aggregators import (
    AGGREGATORS,
    DEFAULT_METHOD,
    AggregationError,
    Aggregator,
    ConsensusModel,
    DawidSkene,
    OneCoinDawidSkene,
    Votes,
    available_aggregators,
    get_aggregator,
)

ALL = sorted(AGGREGATORS)


def test_registry_names_and_default():
    assert set(available_aggregators()) >= {"mv", "wawa", "ds", "onecoin", "glad", "mace"}
    assert DEFAULT_METHOD == "ds"
    assert isinstance(get_aggregator("DS"), DawidSkene)
    assert get_aggregator("ds", n_iter=7).n_iter == 7
    with pytest.raises(AggregationError, match="unknown aggregation method 'nope'"):
        get_aggregator("nope")
    with pytest.raises(AggregationError, match="bad settings"):
        get_aggregator("mv", n_iter=3)


def test_every_aggregator_documents_its_paper_and_maths():
    for cls in AGGREGATORS.values():
        doc = cls.__doc__ or ""
        assert ".. math::" in doc or ":math:" in doc, cls
        assert any(ch.isdigit() for ch in doc), f"{cls.__name__}: cite the paper (year)"


# -- contract ------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_contract_shapes_and_probabilities(name, tiny):
    model = get_aggregator(name)
    assert model.fit(tiny) is model
    n, k, w = tiny.n_items, tiny.n_labels, tiny.n_workers
    assert model.labels_.shape == (n,) and model.labels_.dtype.kind == "i"
    assert model.probas_.shape == (n, k)
    assert np.all(model.probas_ >= 0)
    np.testing.assert_allclose(model.probas_.sum(axis=1), 1.0, atol=1e-9)
    # the label is a most probable one
    chosen = model.probas_[np.arange(n), model.labels_]
    np.testing.assert_allclose(chosen, model.probas_.max(axis=1), rtol=1e-9)
    assert model.skills_.shape == (w,) and np.all(np.isfinite(model.skills_))
    assert model.priors_.shape == (k,)
    np.testing.assert_allclose(model.priors_.sum(), 1.0)
    assert model.confusions_.shape == (w, k, k)
    np.testing.assert_allclose(model.confusions_.sum(axis=2), 1.0, atol=1e-9)
    assert model.item_names_ == tiny.item_names and model.label_names_ == tiny.label_names
    assert set(model.predicted_names()) == set(tiny.item_names)


@pytest.mark.parametrize("name", ALL)
def test_contract_deterministic_and_independent_of_row_order(name, tiny_rows):
    first = get_aggregator(name).fit(Votes.from_rows(tiny_rows))
    again = get_aggregator(name).fit(Votes.from_rows(tiny_rows))
    np.testing.assert_array_equal(first.probas_, again.probas_)
    shuffled_rows = [tiny_rows[i] for i in np.random.default_rng(3).permutation(len(tiny_rows))]
    shuffled = get_aggregator(name).fit(Votes.from_rows(shuffled_rows))
    assert shuffled.predicted_names() == first.predicted_names()
    order = [shuffled.item_names_.index(i) for i in first.item_names_]
    np.testing.assert_allclose(shuffled.probas_[order], first.probas_, atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_contract_unanimous_items_win(name):
    rows = [(f"i{i}", f"w{w}", "xyz"[i % 3]) for i in range(9) for w in range(3)]
    model = get_aggregator(name).fit(Votes.from_rows(rows))
    assert model.predicted_names() == {f"i{i}": "xyz"[i % 3] for i in range(9)}


@pytest.mark.parametrize("name", ALL)
def test_contract_gold_is_clamped(name, tiny):
    model = get_aggregator(name).fit(tiny, gold={"i1": "c", "i5": "b"})
    names = model.predicted_names()
    assert names["i1"] == "c" and names["i5"] == "b"
    np.testing.assert_array_equal(model.probas_[0], [0, 0, 1])


@pytest.mark.parametrize("name", ALL)
def test_contract_items_without_votes_get_the_prior(name):
    v = Votes(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0, 0, 1, 0]),
              ("a", "b", "silent"), ("u", "v"), ("x", "y"))
    model = get_aggregator(name).fit(v)
    np.testing.assert_allclose(model.probas_[2], model.priors_, atol=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_contract_rejects_non_votes_and_exports_json(name, tiny):
    with pytest.raises(AggregationError, match="expects Votes"):
        get_aggregator(name).fit([("a", "b", "c")])
    params = get_aggregator(name).fit(tiny).export_params()
    restored = ConsensusModel.from_params(json.loads(json.dumps(params)))
    post = restored.posterior([("w1", "a"), ("w2", "a"), ("w3", "a")])
    assert max(post, key=post.get) == "a"
    assert sum(post.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ALL)
def test_contract_recovers_a_synthetic_crowd(name, make_crowd):
    votes, truth = make_crowd(n_items=600, n_workers=12, overlap=5, n_labels=4, seed=1)
    accuracy = np.mean(get_aggregator(name).fit(votes).labels_ == truth)
    assert accuracy > 0.8, accuracy


# -- exact outputs on the tiny crowd ------------------------------------------------
def labels(model: Aggregator) -> str:
    return "".join(model.label_names_[k] for k in model.labels_)


def test_majority_vote_exact(tiny):
    mv = get_aggregator("mv").fit(tiny)
    np.testing.assert_allclose(mv.probas_, [[1, 0, 0], [.25, .5, .25], [.25, 0, .75],
                                            [2 / 3, 1 / 3, 0], [0, .5, .5], [2 / 3, 1 / 3, 0]])
    # i5 is a b/c tie: w2 (c) agrees with every clear majority, w3 (b) with 2 of 4.
    assert labels(mv) == "abcaca"
    np.testing.assert_allclose(mv.skills_, [.8, 1.0, .4, .6])
    np.testing.assert_allclose(mv.priors_, [.5, .25, .25])  # vote shares of a, b, c


def test_majority_vote_ties_follow_reliability_then_frequency_then_index():
    # Only ties: no reliability information; "y" is the more frequent label overall.
    rows = [("t1", "u", "x"), ("t1", "v", "y"), ("t2", "u", "y"), ("t2", "v", "y")]
    assert get_aggregator("mv").fit(Votes.from_rows(rows)).predicted_names()["t1"] == "y"
    rows = [("t1", "u", "x"), ("t1", "v", "y"), ("t2", "u", "x"), ("t2", "v", "y")]
    assert get_aggregator("mv").fit(Votes.from_rows(rows)).predicted_names() == {"t1": "x", "t2": "x"}


def test_wawa_exact(tiny):
    wawa = get_aggregator("wawa").fit(tiny)
    np.testing.assert_allclose(wawa.skills_, [.8, 1.0, .4, .6])
    np.testing.assert_allclose(
        wawa.probas_,
        [[1, 0, 0], [.6 / 2.8, 1.8 / 2.8, .4 / 2.8], [.6 / 2.8, 0, 2.2 / 2.8],
         [1.6 / 2.4, .8 / 2.4, 0], [0, .4 / 1.4, 1 / 1.4], [1.4 / 1.8, .4 / 1.8, 0]],
        atol=1e-9,
    )
    assert labels(wawa) == "abcaca"


def _reference_em_round(votes: Votes, smoothing: float, one_coin: bool) -> np.ndarray:
    """One M-step + E-step of Dawid–Skene written with plain loops (the maths, slowly)."""
    k = votes.n_labels
    counts = votes.counts()
    t = counts / counts.sum(axis=1, keepdims=True)
    prior = (t.sum(axis=0) + 1.0) / (t.sum() + k)
    pi = np.zeros((votes.n_workers, k, k))
    for i, w, l in zip(votes.items, votes.workers, votes.labels):
        pi[w, :, l] += t[i]
    if one_coin:
        n_w = pi.sum(axis=(1, 2))
        p = (np.einsum("wkk->w", pi) + smoothing) / (n_w + 2 * smoothing)
        pi = np.array([[[p[w] if a == b else (1 - p[w]) / (k - 1) for b in range(k)] for a in range(k)]
                       for w in range(votes.n_workers)])
    else:
        pi = (pi + smoothing) / (pi + smoothing).sum(axis=2, keepdims=True)
    post = np.tile(prior, (votes.n_items, 1))
    for i, w, l in zip(votes.items, votes.workers, votes.labels):
        post[i] *= pi[w, :, l]
    return post / post.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("cls", [DawidSkene, OneCoinDawidSkene])
def test_one_em_round_matches_the_textbook_maths(cls, tiny):
    model = cls(n_iter=1, tol=None).fit(tiny)
    expected = _reference_em_round(tiny, model.smoothing, one_coin=cls is OneCoinDawidSkene)
    np.testing.assert_allclose(model.probas_, expected, atol=1e-12)
    assert model.n_iter_ == 1


def test_dawid_skene_exact(tiny):
    ds = get_aggregator("ds").fit(tiny)
    # Unlike majority vote, DS learns that w4 always says "a": i4 becomes "b".
    assert labels(ds) == "abcbca"
    assert ds.n_iter_ == 19
    np.testing.assert_allclose(
        ds.probas_,
        [[.9999, 0, 0], [0, .9999, 0], [0, .0001, .9999],
         [.2378, .7621, .0001], [.0256, .0001, .9743], [.8928, .0001, .1071]],
        atol=1.5e-4,
    )
    np.testing.assert_allclose(ds.skills_, [.9164, .8502, .3486, .3522], atol=1e-4)
    assert np.argsort(ds.skills_).tolist()[:2] == [2, 3]  # w3 and w4 are the weak ones


def test_one_coin_exact(tiny):
    oc = get_aggregator("onecoin").fit(tiny)
    assert labels(oc) == "abcaca"
    np.testing.assert_allclose(oc.skills_, [.6513, .7253, .4511, .5755], atol=1e-4)
    np.testing.assert_allclose(oc.probas_[3], [.8522, .1098, .0380], atol=1e-4)


def test_glad_exact(tiny):
    glad = get_aggregator("glad").fit(tiny)
    assert labels(glad) == "abcaca"
    np.testing.assert_allclose(glad.skills_, [1.1429, 1.2416, .7400, .5186], atol=1e-4)
    np.testing.assert_allclose(glad.probas_[4], [.1064, .3657, .5279], atol=1e-4)
    np.testing.assert_allclose(glad.priors_, [1 / 3] * 3)
    assert glad.difficulties_.shape == (tiny.n_items,)


def test_mace_exact(tiny):
    mace = get_aggregator("mace").fit(tiny)
    assert labels(mace) == "abcbca"
    # competence: w4 (always "a") is recognised as a spammer
    np.testing.assert_allclose(mace.skills_, [.9338, .6906, .2835, .0463], atol=1e-4)
    np.testing.assert_allclose(mace.probas_[3], [.1077, .8769, .0154], atol=1e-4)
    assert mace.spam_[3].argmax() == 0


def test_mace_em_variant_and_bad_method(tiny):
    assert labels(get_aggregator("mace", method="em").fit(tiny))[0] == "a"
    with pytest.raises(AggregationError, match="bad settings"):
        get_aggregator("mace", bogus=1)
    with pytest.raises(ValueError, match="'vb' or 'em'"):
        get_aggregator("mace", method="gibbs")


def test_digamma_matches_known_values():
    from app.consensus.aggregators.mace import digamma

    np.testing.assert_allclose(digamma(np.array([1.0, 0.5, 2.5, 100.0])),
                               [-0.5772156649015329, -1.9635100260214235, 0.7031566406452432,
                                4.600161852738087], rtol=1e-9)


def test_fixed_round_count_runs_exactly_that_many(tiny):
    for name in ("ds", "onecoin", "glad"):
        assert get_aggregator(name, n_iter=4, tol=None).fit(tiny).n_iter_ == 4
    assert get_aggregator("mace", n_iter=4, tol=None, n_restarts=3).fit(tiny).n_iter_ == 12


def test_dawid_skene_beats_majority_vote_with_spammers(make_crowd):
    votes, truth = make_crowd(n_items=3000, n_workers=20, overlap=5, seed=2)
    mv = np.mean(get_aggregator("mv").fit(votes).labels_ == truth)
    ds = np.mean(get_aggregator("ds").fit(votes).labels_ == truth)
    assert ds > mv + 0.01, (ds, mv)
