"""aelab: an autoencoder laboratory driven by one DVC pipeline."""

__version__ = "0.1.0"
