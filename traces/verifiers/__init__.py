"""Pure checks of a trace's content: answers, the trained completion shape, Tunix's GRPO rewards."""
