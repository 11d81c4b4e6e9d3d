"""Running experiments: episodes (``episode``), Hydra configs and orchestration (``cli``, ``execute``)."""
