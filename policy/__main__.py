"""The policy pack: every rule of ``rules.py`` as a mandatory resource policy.

Run by the Pulumi CLI (``pulumi preview --policy-pack policy``) in the pack's own
virtual environment (``policy/venv``, from ``policy/requirements.txt``). The stack's
environment is the stack name, read from each resource's URN.
"""

import rules  # the pack's folder is on sys.path when the CLI runs it
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)


def _policy(rule: rules.Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.check(args.resource_type, args.props, rules.stack_of(args.urn)):
            report_violation(message, None)

    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate)


PolicyPack(
    name="analytical-platform-airflow",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[_policy(rule) for rule in rules.RULES],
)
