"""Deploy helpers: `python -m scripts.deploy`, `scripts.destroy`, `scripts.package`."""
