"""Data layer: the DATASETS registry, sources, preprocessing and the npz contract."""
