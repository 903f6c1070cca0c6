"""Crowd-SFT: competitive crowd fine-tuning tournaments and Shapley-value fairness.

Reference: Sotiropoulos et al. (2025), "Crowd-SFT: Crowdsourcing for LLM Alignment".
Precise semantics: ``shared/spec/crowd_sft.md`` (reproduced in the docstrings).
"""
