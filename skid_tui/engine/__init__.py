"""Engine access: finding the engine, the client, the events watcher. Never imports Textual."""
