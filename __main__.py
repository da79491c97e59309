"""Pulumi entry point: one stack per environment (development, test, production)."""

from shell.program import deploy

deploy()
