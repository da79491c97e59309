"""The pure core of the Analytical Platform Airflow stack (no Pulumi imports).

Loading and validating manifests, deriving names, building IAM documents and
rendering DAGs all live here, so they are fast to test and shared by the
Pulumi program and the ``python -m workflows`` command line.
"""
