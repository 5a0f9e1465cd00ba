"""Tests that need the GitHub sandbox."""
