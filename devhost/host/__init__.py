"""The host process: assembles hub, workers, engine and listeners; serves until stopped."""
