"""Layer 1: pure attrs data, one module per concept. No I/O, no knowledge of stores."""
