"""Running experiments: episodes (``episode``), configs (``config``), orchestration (``execute``); the command is ``safe_alfred.cli.run``."""
