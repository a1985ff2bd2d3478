"""The shared activation pass: one model forward per batch for every SAE and evaluator."""
