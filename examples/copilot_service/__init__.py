"""The ops copilot served over HTTP: `make serve` (offline on the scripted model)."""
