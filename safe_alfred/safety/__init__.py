"""Control barrier functions and the CBF action filter (``CBFFilter``, ``make_filter``)."""

from .barriers import Guard, Predicted, Relaxed, build_guards, predict, search_distance
from .filter import CBFFilter, make_filter

__all__ = ["CBFFilter", "Guard", "Predicted", "Relaxed", "build_guards", "make_filter", "predict",
           "search_distance"]
