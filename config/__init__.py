"""Settings by concern and the service's clock; imports nothing of ours (DESIGN.md, Layout)."""
