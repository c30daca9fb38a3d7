"""Fetching the official CMS files named in ``sources.toml`` and loading them with the project's loaders."""
