"""The ground floor under bot/, handoff/ and retrieval/: where settings come from, bounded offload
of expensive calls off the event loop, and token-bucket flood control. It imports none of them."""
