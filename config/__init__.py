"""Settings for Tessera: embedded default, production (environment) and testing."""

from config.settings import load_config

__all__ = ["load_config"]
