"""Background work: the worker loop over durable jobs (step runs now; escalation ticks and deliveries later)."""
