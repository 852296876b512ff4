"""A conversation's lifecycle: who holds it (bot, queue, agent, closed) and the moves between."""
