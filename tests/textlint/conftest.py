"""Importing textlint_run starts textlint in the background while pytest collects the other tests."""

import textlint_run  # noqa: F401
