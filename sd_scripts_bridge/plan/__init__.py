"""From a request to a plan, before anything runs: the profiles and overrides, the VRAM tier, the
text-encoder policy, the staged dataset and its TOML, the engine commands, the request's checks and key."""
