"""What the app greets with; the watch-mode tests rewrite this line while the host runs."""

GREETING = "hello from the first version"
