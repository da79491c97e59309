"""One analyst workflow: everything its manifest asks for, under one component.

Renaming rule (keep live resources): a logical name or a parent is part of a
resource's URN, so changing either makes Pulumi replace the resource — for a
secret, that loses the value its maintainers set. When restructuring these
components, pass ``aliases=[pulumi.Alias(name=old_name, parent=old_parent)]``
(or ``type_=old_type``) on the moved resource so its URN history carries over,
and check that ``pulumi preview`` shows no replacement before merging.
"""

from __future__ import annotations

import pulumi

from components.dag import dag_object
from components.identity import WorkflowIdentity
from components.secrets import WorkflowSecrets
from components.service_account import service_account
from workflows import naming
from workflows.config import StackConfig
from workflows.model import Workflow as WorkflowModel


def component_name(workflow: WorkflowModel) -> str:
    """Logical name of a workflow's component: ``<project>-<workflow>`` (folder names, unique per stack)."""
    return f"{workflow.project}-{workflow.name}"


class Workflow(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, workflow: WorkflowModel, config: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The identity of the workflow as component inputs, so previews and renders show it.
        props = {"environment": workflow.environment, "project": workflow.project, "workflow": workflow.name}
        super().__init__("analytical-platform:workflows:Workflow", name, props, opts)
        child = pulumi.ResourceOptions(parent=self)

        if workflow.iam.external_role is not None:
            role_arn = pulumi.Output.from_input(workflow.iam.external_role)
        else:
            role_arn = WorkflowIdentity(name, workflow, config, opts=child).role_arn
        prerequisites: list[pulumi.Resource] = [service_account(name, workflow, config, role_arn, parent=self)]
        if workflow.secrets:
            prerequisites.append(WorkflowSecrets(name, workflow, config, opts=child))
        dag_object(
            name,
            workflow,
            config,
            # depends_on: the DAG is uploaded last, so Airflow never schedules a pod whose
            # service account or secrets do not exist yet.
            opts=pulumi.ResourceOptions(parent=self, depends_on=prerequisites),
        )
        self.role_arn = role_arn
        names = naming.names_for(workflow, config)
        self.register_outputs({"role_arn": role_arn, "dag_id": names.dag_id, "service_account": names.service_account})
