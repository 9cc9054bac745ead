"""Datasets: immutable, versioned selections of traces (see DESIGN §2, §6)."""
