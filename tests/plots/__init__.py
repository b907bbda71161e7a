"""Tests of mixedmodels.plots."""
