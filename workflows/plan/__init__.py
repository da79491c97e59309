"""What the stack provisions for a workflow: names, IAM documents, Kubernetes objects, limits.

:func:`workflows.plan.workflow_plan.plan` puts them together, once per workflow.
"""
