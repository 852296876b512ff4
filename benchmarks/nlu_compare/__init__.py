"""Built-in NLU engine vs Rasa 3.6 (DIET) on the same splits, in one run: ``python -m benchmarks.nlu_compare``."""
