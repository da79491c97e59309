"""The running service's DAG loader, for the cutover only (docs/migration.md, "The DAG cutover").

An operator uploads this over ``dags/dag_factory.py`` before the first ``pulumi up`` and
deletes it, with the running service's YAML files, once that ``up`` is done. It loads each
dag-factory YAML (``dags/<env>/<alias>/<workflow>/workflow.yml``) as the running service's
loader does, except one whose folder already holds this stack's DAG file (``dag.py``): that
file defines the DAG from then on, under the same DAG id, and Airflow must never see one DAG
id defined twice (it would report the second as an import error). So at every moment of the
cutover each DAG id is defined exactly once, and none disappears.

It runs in MWAA, where dag-factory is installed (the running service's requirements); it
names ``airflow`` and ``DAG`` so that Airflow's safe-mode discovery parses it.
"""

from pathlib import Path

import dagfactory
from airflow import DAG  # noqa: F401 - the running service's loader imports it too

DAGS_FOLDER = Path(__file__).resolve().parent

for manifest in sorted(DAGS_FOLDER.rglob("workflow.yml")):
    if (manifest.parent / "dag.py").exists():
        continue  # this stack's DAG file defines it now
    dagfactory.DagFactory(str(manifest)).generate_dags(globals())
