"""Network forms by workflow."""
