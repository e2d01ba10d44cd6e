"""Golden vectors: a corpus of .npy inputs, expected outputs and tolerances, for any language."""

from .corpus import FORMAT, FORMAT_VERSION, MANIFEST, VectorsError, iter_files, write_corpus
from .features import FEATURES, features_of

__all__ = [
    "FEATURES",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "VectorsError",
    "features_of",
    "iter_files",
    "write_corpus",
]
