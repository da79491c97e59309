"""Pulumi ComponentResources: they turn values from ``workflows`` into resources."""
