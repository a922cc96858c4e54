"""What a run folder holds between runs: the engine's saved states, the ledger of what this pack saw
written, the recorded checkpoints, the lock, and where a run resumes."""
