"""The builder's guide's networks as LayerLab specs, shared by the tests."""

SEED_NET = {"name": "seed", "input_shape": [4], "layers": [
    {"type": "LazyLinear", "out_features": 8}, {"type": "ReLU"}, {"type": "LazyLinear", "out_features": 1}]}
TIED_NET = {"name": "tied", "input_shape": [4], "layers": [
    {"type": "LazyLinear", "out_features": 8}, {"type": "ReLU"},
    {"type": "LazyLinear", "out_features": 8, "name": "shared"}, {"type": "ReLU"},
    {"tie": "shared"}, {"type": "ReLU"},
    {"type": "LazyLinear", "out_features": 1}]}
MLP = {"name": "mlp", "input_shape": [20], "layers": [
    {"type": "LazyLinear", "out_features": 256}, {"type": "ReLU"}, {"type": "LazyLinear", "out_features": 10}]}
