"""coordinator-tui: the Omaolo coordinator's keyboard-first terminal app."""

__version__ = "0.1.0"
APP_NAME = "coordinator-tui"
