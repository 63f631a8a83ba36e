"""Example probes outside the package: what a plugin author writes (README, "Extending")."""
