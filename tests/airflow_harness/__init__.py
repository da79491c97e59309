"""Loading DAG folders in the Airflow that MWAA runs (a separate interpreter, ``AIRFLOW_PYTHON``)."""
