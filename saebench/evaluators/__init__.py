"""Built-in evaluators; each module registers one plug-in."""
