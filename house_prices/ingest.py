"""Client of the data API and ingestion of raw batches into object storage.

The API takes query parameters (``/data?group_number=5&day=Tuesday``; path parameters get a
400), answers 400 with a known ``detail`` once every batch was served, and limits usage, so
each raw batch is stored once and never written again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import requests

from house_prices import keys
from house_prices.schema import Batch, SchemaError, parse_response
from house_prices.settings import DAYS
from house_prices.storage import ObjectStore, write_parquet

__all__ = [
    "DataApiClient",
    "DataApiError",
    "DataExhausted",
    "IngestResult",
    "ingest_batch",
]

_log = logging.getLogger(__name__)

#: What the real server says once a group received all its batches.
EXHAUSTED_DETAIL = "Ya se recolectó toda la información minima necesaria"


class DataApiError(RuntimeError):
    """The data API could not be reached or gave an unusable answer."""


class DataExhausted(DataApiError):
    """The API has served every batch of this group/day (not a transport error)."""


def _is_exhausted(detail: str) -> bool:
    normalised = detail.lower()
    return "ya se recolect" in normalised or "toda la informaci" in normalised


@dataclass
class DataApiClient:
    """Fetches batches with timeouts and retries with backoff on 5xx and connection errors."""

    base_url: str
    timeout: float = 60.0
    retries: int = 4
    backoff: float = 1.0
    session: requests.Session | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise DataApiError(
                f"DATA_API_URL {self.base_url!r} must start with http:// or https://"
            )
        self.session = self.session or requests.Session()

    def _get(self, route: str, params: dict[str, object]) -> requests.Response:
        url = f"{self.base_url}{route}"
        attempt = 0
        while True:
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"cannot reach the data API at {url}: {exc.__class__.__name__}: {exc}"
            else:
                if response.status_code < 500:
                    return response
                problem = f"data API {url} answered {response.status_code}: {response.text[:200]}"
            if attempt >= self.retries:
                raise DataApiError(
                    f"{problem} (gave up after {attempt + 1} attempts; check DATA_API_URL "
                    "and that the server is up)"
                )
            delay = self.backoff * 2**attempt
            _log.warning("%s; retrying in %.1f s", problem, delay)
            time.sleep(delay)
            attempt += 1

    def fetch(self, group_number: int, day: str) -> Batch:
        """Fetch the current batch of ``group_number``/``day``.

        Raises:
            DataExhausted: every batch was already served.
            DataApiError: unreachable, 5xx after retries, 4xx, non-JSON or off-schema answer.
        """
        if day not in DAYS:
            raise DataApiError(f"day {day!r} is not one of {', '.join(DAYS)}")
        params = {"group_number": group_number, "day": day}
        response = self._get("/data", params)
        try:
            payload = response.json()
        except ValueError:
            raise DataApiError(
                f"data API answered {response.status_code} with non-JSON body: "
                f"{response.text[:200]!r}"
            ) from None
        if response.status_code == 400:
            detail = str(payload.get("detail", payload)) if isinstance(payload, dict) else payload
            if _is_exhausted(str(detail)):
                raise DataExhausted(f"group {group_number}/{day}: all batches served ({detail})")
            raise DataApiError(f"data API refused group {group_number}/{day}: {detail}")
        if response.status_code != 200:
            raise DataApiError(f"data API answered {response.status_code}: {response.text[:200]}")
        try:
            return parse_response(payload, group_number=group_number, day=day)
        except SchemaError as exc:
            raise DataApiError(f"data API answer does not follow the contract: {exc}") from exc

    def restart(self, group_number: int, day: str) -> None:
        """Reset the batch sequence of ``group_number``/``day`` on the server."""
        response = self._get("/restart_data_generation", {"group_number": group_number, "day": day})
        if response.status_code != 200:
            raise DataApiError(f"restart refused ({response.status_code}): {response.text[:200]}")


@dataclass(frozen=True)
class IngestResult:
    """Outcome of one ingestion: the key holding the batch, or why there is none new."""

    group_number: int
    day: str
    batch_number: int | None
    key: str | None
    rows: int
    written: bool
    exhausted: bool = False

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def ingest_batch(client: DataApiClient, store: ObjectStore, group: int, day: str) -> IngestResult:
    """Fetch the current batch and store it as Parquet unless that batch is already stored."""
    try:
        batch = client.fetch(group, day)
    except DataExhausted as exc:
        _log.info("%s", exc)
        return IngestResult(group, day, None, None, 0, written=False, exhausted=True)
    key = keys.raw_key(group, day, batch.batch_number)
    if store.exists(key):
        _log.info("batch %s already stored at %s: nothing written", batch.batch_number, key)
        return IngestResult(group, day, batch.batch_number, key, len(batch.frame), written=False)
    write_parquet(store, key, batch.frame)
    _log.info("stored %d rows of batch %s at %s", len(batch.frame), batch.batch_number, key)
    return IngestResult(group, day, batch.batch_number, key, len(batch.frame), written=True)
