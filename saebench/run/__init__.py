"""The run layer: what to run (``request``), how it is split into groups (``planning``),
one group's shared pass and evaluators (``group``), and who runs the groups (``executors``,
local or ``ray_executor``), with ``suites`` reading a YAML file into the same request.

It writes records (``saebench.records``); the results layer (``saebench.results``) reads
them and never imports this package.
"""
