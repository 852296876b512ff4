"""The NIA online services behind the chat, each behind an interface with swappable backends."""
