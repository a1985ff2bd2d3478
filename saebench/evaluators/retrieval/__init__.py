"""The ``retrieval`` evaluator: SAEs on sentence embeddings, scored by what retrieval keeps.

See :mod:`saebench.evaluators.retrieval.evaluator` and ``docs/evaluators/retrieval.md``.
"""
