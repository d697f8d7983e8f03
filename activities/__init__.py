"""Activities: the side effects of the workflows; idempotent and thin, they call adapters/."""
