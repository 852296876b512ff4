"""The ground floor under bot/, handoff/ and retrieval/: where settings come from, bounded offload
of expensive calls off the event loop, token-bucket flood control, and languages and scripts
(language id, the reply script, OpenCC conversion). It imports none of them."""
