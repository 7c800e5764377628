"""The data API's wire contract as this emulator serves it: its own copy, not the pipeline's.

The emulator stands for an external API, so it does not learn its contract from the client
that reads it (``house_prices.schema``); ``tests/unit/test_emulator_wire_contract.py`` checks
that the two copies agree, so a change on one side fails a test instead of a training run.
"""

from __future__ import annotations

__all__ = ["COLUMNS", "DAYS", "ENVELOPE", "STATUSES"]

#: Columns of a listing record, in the realtor.com layout and order.
COLUMNS = (
    "brokered_by",
    "status",
    "price",
    "bed",
    "bath",
    "acre_lot",
    "street",
    "city",
    "state",
    "zip_code",
    "house_size",
    "prev_sold_date",
)
#: Keys of a ``/data`` answer around its records.
ENVELOPE = ("group_number", "day", "batch_number", "data")
#: Values of ``status`` in clean records.
STATUSES = ("for_sale", "sold", "ready_to_build")
#: Values of the ``day`` query parameter, in the order batches advance through them.
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
