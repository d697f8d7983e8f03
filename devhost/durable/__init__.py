"""What every room shares: host time, history events, decisions, entity ids, failure texts."""
