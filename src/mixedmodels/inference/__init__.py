"""Inference on fitted models: df-corrected tests, anova, likelihood-ratio tests, intervals."""
