"""Pulumi entry point: one stack per environment (development, test, production)."""

from components.stack import deploy

deploy()
