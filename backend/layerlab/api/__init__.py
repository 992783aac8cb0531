"""The HTTP routers, one per resource; ``deps`` holds the lookups they share."""
