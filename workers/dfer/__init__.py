"""Dynamic facial expression recognition: model zoo, data, train, evaluate, prerank.

Kept import-light on purpose: `workers.dfer.split` is torch-free and may be
used by the web process; everything else pulls in torch when imported.
"""
