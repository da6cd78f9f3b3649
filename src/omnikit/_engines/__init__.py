"""Layer 2: pure logic over models. No I/O; time is passed in."""
