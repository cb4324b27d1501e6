"""The engine: scenarios, the compiled network and availability under shocks (its README
states the model's semantics)."""
