"""Check-in: arrivals, queues, desks, agents and routing."""
