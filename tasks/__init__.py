"""What to do and how it is judged: the CLI, task specs, the evaluation harness and sandbox apps."""
