"""Fakes of GitHub and its tools for the workflow tests (see README.md)."""
