"""Long-term memory: facts an agent keeps, per session or for all its sessions, in pgvector."""
