"""toilbot: a ChatOps bot for operations teams."""

__version__ = "0.1.0"
