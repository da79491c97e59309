"""Analytical Platform runtime for MWAA: the standard operator every workflow task runs as.

Shipped by the stack under the bucket's ``dags/`` prefix next to the generated DAGs
(``.airflowignore`` keeps Airflow from parsing this package as DAG files). Importing
the package has no side effects; settings are read from ``platform.json`` on first use.
"""
