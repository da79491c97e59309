"""Run one task of a dags folder against a Kubernetes API, as a worker would, and report how it ended.

Run by the Airflow environment's interpreter (``.venv-airflow``), not by pytest's:

    .venv-airflow/bin/python tests/airflow_harness/preflight.py DAGS_FOLDER OUT.json DAG_ID TASK_ID

The folder is loaded as MWAA loads it (``load_dags.py``); the task's templates are rendered
with a run's context and its ``execute`` runs with the cluster connection its ``platform.json``
names (the tests point it at a fake API server): what the operator asks the API before and
while it creates the pod. The JSON holds the exception the task ended with (type, message,
whether it is ``AirflowFailException``) and how long it took.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_dags


def run(dags: Path, dag_id: str, task_id: str) -> dict[str, Any]:
    from airflow.exceptions import AirflowFailException
    from airflow.models.dagbag import DagBag

    if str(dags) not in sys.path:
        sys.path.append(str(dags))
    bag = DagBag(str(dags), include_examples=False, safe_mode=True)
    if bag.import_errors:
        return {"import_errors": bag.import_errors}
    load_dags._create_tables()  # the hook looks its connection up in the metadata database
    dag = bag.dags[dag_id]
    task = dag.get_task(task_id)
    # A run's context, and the task's templates rendered with it, as a worker does before execute().
    context = load_dags._context_factory(dag)(task)
    task.render_template_fields(context)
    started = time.perf_counter()
    result: dict[str, Any] = {"exception": None}
    try:
        task.execute(context)
    except BaseException as error:
        result["exception"] = {
            "type": type(error).__name__,
            "message": str(error),
            "fail_at_once": isinstance(error, AirflowFailException),
            "status": getattr(error, "status", None),
            "traceback": traceback.format_exc(),
        }
    result["seconds"] = time.perf_counter() - started
    return result


def main(argv: list[str]) -> int:
    dags, out, dag_id, task_id = Path(argv[0]).resolve(), Path(argv[1]), argv[2], argv[3]
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        load_dags._configure(dags, Path(home))
        result = run(dags, dag_id, task_id)
    out.write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
