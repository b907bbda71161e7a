"""The package's version (one place: the package, the command line and show_config read it)."""

__version__ = "0.1.0"
