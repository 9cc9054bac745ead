"""Training and evaluation runs (see DESIGN §7)."""
