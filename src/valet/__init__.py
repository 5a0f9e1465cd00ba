"""valet: release with a valet key.

The people who ask for a release and the people who approve it never hold the
registry tokens; a locked-down publish repository does, and it only downloads,
verifies and uploads pre-built, digest-pinned artifacts.
"""

__version__ = "0.1.0"
