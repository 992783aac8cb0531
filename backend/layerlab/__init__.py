"""LayerLab: assemble PyTorch networks from JSON specs and look inside them."""

__version__ = "0.1.0"
