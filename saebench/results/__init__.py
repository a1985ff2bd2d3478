"""The results layer: records in, tables and pages out. ``leaderboard`` turns records into
frames and tables, ``board`` builds, renders and publishes a leaderboard folder, ``plots``
draws the figures. It reads records only; nothing here runs a model or an evaluator.
"""
