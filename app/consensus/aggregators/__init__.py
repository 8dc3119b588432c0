"""Pure-numpy consensus algorithms: votes in, posteriors out (no database).

>>> votes = Votes.from_rows([("clip1", "ann1", "happy"), ("clip1", "ann2", "happy"),
...                          ("clip2", "ann1", "sad"), ("clip2", "ann2", "fear")])
>>> ds = get_aggregator("ds").fit(votes)
>>> ds.predicted_names()["clip1"]
'happy'
"""

from .base import Aggregator
from .dawid_skene import DawidSkene, OneCoinDawidSkene
from .glad import GLAD
from .incremental import ConsensusModel, item_posterior
from .mace import MACE
from .majority import MajorityVote, Wawa
from .registry import AGGREGATORS, DEFAULT_METHOD, available_aggregators, get_aggregator
from .votes import AggregationError, Votes

__all__ = [
    "AGGREGATORS",
    "DEFAULT_METHOD",
    "AggregationError",
    "Aggregator",
    "ConsensusModel",
    "DawidSkene",
    "GLAD",
    "MACE",
    "MajorityVote",
    "OneCoinDawidSkene",
    "Votes",
    "Wawa",
    "available_aggregators",
    "get_aggregator",
    "item_posterior",
]
