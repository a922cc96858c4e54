"""One run of a plan: the supervised engine phases, their progress, logs and samples, the early stop,
the RAM preflight and the out-of-memory fallback, and the run's report."""
