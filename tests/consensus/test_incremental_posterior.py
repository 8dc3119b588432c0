"""The per-vote incremental update and the JSON export of a fitted model."""
import json

import numpy as np
import pytest

from app.consensus.aggregators import AggregationError, ConsensusModel, get_aggregator, item_posterior

PRIORS = [0.5, 0.5]
W0 = [[0.8, 0.2], [0.3, 0.7]]
W1 = [[0.6, 0.4], [0.1, 0.9]]


def test_item_posterior_by_hand():
    # k=0: .5*.8*.4 = .16 ; k=1: .5*.3*.9 = .135
    post = item_posterior([0, 1], [0, 1], np.array([W0, W1]), PRIORS)
    np.testing.assert_allclose(post, [.16 / .295, .135 / .295])
    by_name = item_posterior(["ann0", "ann1"], [0, 1], {"ann0": W0, "ann1": W1}, PRIORS)
    np.testing.assert_allclose(by_name, post)


def test_unknown_workers_fall_back_to_the_mean_or_given_default():
    mean = np.mean([W0, W1], axis=0)
    expected = item_posterior([0], [1], mean[None], PRIORS)
    np.testing.assert_allclose(item_posterior([-1], [1], np.array([W0, W1]), PRIORS), expected)
    np.testing.assert_allclose(item_posterior([7], [1], np.array([W0, W1]), PRIORS), expected)
    np.testing.assert_allclose(item_posterior(["new"], [1], {"a": W0, "b": W1}, PRIORS), expected)
    uniform = np.full((2, 2), 0.5)
    np.testing.assert_allclose(item_posterior(["new"], [1], {"a": W0}, PRIORS, default=uniform), PRIORS)


def test_no_votes_gives_the_prior_and_bad_input_is_typed():
    np.testing.assert_allclose(item_posterior([], [], np.array([W0]), [0.3, 0.7]), [0.3, 0.7])
    with pytest.raises(AggregationError, match="out of range"):
        item_posterior([0], [2], np.array([W0]), PRIORS)
    with pytest.raises(AggregationError, match="differ in length"):
        item_posterior([0, 0], [1], np.array([W0]), PRIORS)


def test_export_is_plain_json_and_round_trips(tiny):
    ds = get_aggregator("ds").fit(tiny)
    params = ds.export_params()
    text = json.dumps(params)  # plain lists, floats and strings only
    restored = ConsensusModel.from_params(json.loads(text))
    assert restored.method == "ds"
    assert restored.label_names == ("a", "b", "c")
    assert set(params["workers"]) == {"w1", "w2", "w3", "w4"}
    assert len(params["workers"]["w1"]["confusion"]) == 3
    np.testing.assert_allclose(restored.confusions, ds.confusions_)
    np.testing.assert_allclose(restored.priors, ds.priors_)
    np.testing.assert_allclose(restored.skills, ds.skills_)


def test_incremental_posterior_matches_the_full_fit(tiny, tiny_rows):
    ds = get_aggregator("ds", tol=1e-12, n_iter=500).fit(tiny)
    model = ConsensusModel.from_params(ds.export_params())
    for i, item in enumerate(tiny.item_names):
        post = model.posterior([(w, lab) for it, w, lab in tiny_rows if it == item])
        np.testing.assert_allclose(list(post.values()), ds.probas_[i], atol=1e-3)


def test_new_votes_and_unknown_workers_by_name(tiny):
    model = ConsensusModel.from_params(get_aggregator("ds").fit(tiny).export_params())
    # w4 always says "a": its vote alone barely moves the posterior, w1's does.
    spam = model.posterior([("w4", "a")])
    careful = model.posterior([("w1", "a")])
    assert careful["a"] > spam["a"]
    stranger = model.posterior([("somebody-new", "b")])
    assert max(stranger, key=stranger.get) == "b"
    with pytest.raises(AggregationError, match="not one of the labels"):
        model.posterior([("w1", "happy")])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(version=99),
        lambda p: p.pop("priors"),
        lambda p: p.update(priors=[1.0]),
        lambda p: p["workers"]["w1"].update(confusion=[[1.0]]),
    ],
)
def test_malformed_params_raise_a_typed_error(tiny, mutate):
    params = json.loads(json.dumps(get_aggregator("ds").fit(tiny).export_params()))
    mutate(params)
    with pytest.raises(AggregationError):
        ConsensusModel.from_params(params)


def test_incremental_update_agrees_with_the_full_fit(make_crowd):
    """The per-vote update (its speed is in BENCHMARKS.md, "Consensus speed")
    labels a clip as the fit it came from does."""
    votes, _ = make_crowd(n_items=300, n_workers=30, overlap=5, n_labels=7)
    fitted = get_aggregator("ds").fit(votes)
    model = ConsensusModel.from_params(json.loads(json.dumps(fitted.export_params())))
    per_item = [[] for _ in range(300)]
    for i, w, lab in zip(votes.items.tolist(), votes.workers.tolist(), votes.labels.tolist()):
        per_item[i].append((votes.worker_names[w], votes.label_names[lab]))
    same = 0
    for i, clip in enumerate(per_item):
        post = model.posterior(clip)
        same += max(post, key=post.get) == votes.label_names[fitted.labels_[i]]
    assert same / len(per_item) >= 0.99
