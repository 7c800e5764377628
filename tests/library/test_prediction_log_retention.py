"""The prediction-log-retention CronJob's command: says what is missing, prunes old rows."""

from __future__ import annotations

from datetime import UTC, datetime

from house_prices import prediction_log_retention
from testsupport import prediction_log


def test_missing_url_is_an_error_that_names_the_variable(capsys):
    assert prediction_log_retention.main({}) == 2
    assert "MODEL_SERVER_DATABASE_URL is not set" in capsys.readouterr().err


def test_bad_days_is_an_error(tmp_path, capsys):
    environ = {
        "MODEL_SERVER_DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
        "HOUSE_PRICES_RETAIN_PREDICTIONS_DAYS": "ten",
    }
    assert prediction_log_retention.main(environ) == 2
    assert "HOUSE_PRICES_RETAIN_PREDICTIONS_DAYS='ten'" in capsys.readouterr().err


def test_rows_older_than_the_limit_go(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/p.db"
    prediction_log.write_aged_rows(url, (2, 6, 9), datetime.now(UTC))
    environ = {"MODEL_SERVER_DATABASE_URL": url, "HOUSE_PRICES_RETAIN_PREDICTIONS_DAYS": "5"}
    assert prediction_log_retention.main(environ) == 0
    assert "2 row(s) older than 5 days deleted" in capsys.readouterr().out
    assert prediction_log.request_ids(url) == ["age2"]
