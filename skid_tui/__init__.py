"""skid-tui: a live resource dashboard for the Skidbladnir container stack."""

__version__ = "0.1.0"
