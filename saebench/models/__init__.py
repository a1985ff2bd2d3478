"""All model access goes through here (TransformerLens HookedTransformer today)."""
