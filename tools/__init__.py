"""Maintainer tooling (not part of vaegan_utils): notebook execution and checks."""
