"""What the test suites and the benchmarks share: real servers on free loopback ports, the
model server under gunicorn, registered model versions, Airflow and Ansible runs.

Not shipped: pyproject's package list names only the application's packages.
"""
