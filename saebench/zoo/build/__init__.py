"""The zoo's build corner: scripts that build what the zoo ships from a real model.

The only part of ``saebench.zoo`` that may import the run layer (models, data, evaluators):
the rest of the zoo is read by the package at run time and stays free of it.
"""
