"""The AI2-THOR backend and the protocol-compatible stand-in simulator it is tested against."""

from .backend import SimulatorCrashed, ThorBackend, run_with_restarts, standin_backend
from .standin import standin_executable

__all__ = ["ThorBackend", "SimulatorCrashed", "run_with_restarts", "standin_backend", "standin_executable"]
