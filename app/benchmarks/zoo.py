"""Names of the DFER model zoo, torch-free so the web process can validate
requests (tests/benchmarks/test_zoo_names.py keeps it equal to the registry
in workers/dfer/models)."""

BASES = ["resnet18", "vgg13", "resnet18_lstm", "vgg13_lstm", "c3d", "r3d_18", "r2plus1d_18"]
MODEL_NAMES = BASES + [f"two_stream_{b}" for b in BASES]
