"""House-price pipeline library: the domain logic shared by the DAG, the model server and the UI.

Every step is a plain function over object-store keys, so the same code runs inside Airflow
tasks (separate processes or pods), in the plain-script runner and in tests::

    from house_prices.settings import Settings
    from house_prices.pipeline import run_once

    summary = run_once(Settings.from_env(), group=5, day="Tuesday")
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
