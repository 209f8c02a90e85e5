"""Long batches on worker processes (an evaluation's tasks, a job's rows): the pool that runs them,
the results folder's locks, and append-only result lines that record every item exactly once."""
