"""Canary rollouts: the pure decisions (judge a gate, advance, roll back); flows do the I/O."""
