"""The app folder as the Functions host reads it: host.json, settings, registered functions."""
