"""The web UI's forms fuzzed through the test client, against a real model server.

Malformed numbers, huge values, NaN/infinity, unicode, missing fields and wrong CSRF tokens:
never a 5xx, and whatever a person typed into a text or number input comes back in the
re-rendered form (escaped), so a mistake is fixed in place instead of retyped.
"""

from __future__ import annotations

import re
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from testsupport.model_server import HOUSE
from web.forms import NUMERIC

#: Inputs a person types into (selects cannot keep an invalid choice: it is not an option).
TYPED = NUMERIC
EXAMPLES_PER_FORM = 150

_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=40)
_numberish = st.one_of(
    st.sampled_from(["", " ", "1e308", "-1e308", "1e309", "nan", "NaN", "inf", "-inf", "0x10"]),
    st.sampled_from(
        ["3,5", "1_000", "\u0663", "\uff11\uff12", "3.", ".5", "--1", "1e-400", "9" * 400]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    _text,
)
_field_values = {
    **{name: _numberish for name in NUMERIC},
    "state": st.one_of(st.sampled_from(["Texas", "California", "Atlantis"]), _text),
    "status": st.one_of(st.sampled_from(["for_sale", "sold", "ready_to_build"]), _text),
}


#: A listing the test model accepts: the start of every case, so some cases stay valid.
VALID = HOUSE


@st.composite
def forms(draw) -> tuple[dict[str, str], bool]:
    """(form fields, whether the CSRF token is the right one).

    A valid listing with up to three fields replaced by fuzz and up to two left out.
    """
    names = st.sampled_from(sorted(VALID))
    fuzzed = draw(st.sets(names, max_size=3))
    missing = draw(st.sets(names, max_size=2))
    fields = {
        name: draw(_field_values[name]) if name in fuzzed else value
        for name, value in VALID.items()
        if name not in missing
    }
    return fields, draw(st.sampled_from([True, True, True, False]))


def _csrf(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def _fuzz(client, path: str, extra: dict[str, list[str]]) -> dict[str, int]:
    token = _csrf(client)
    tally = {"cases": 0, "ok": 0, "rejected": 0, "csrf": 0}

    @given(case=forms())
    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: tuple[dict[str, str], bool]) -> None:
        fields, right_token = case
        data = {**fields, **extra, "csrf_token": token if right_token else token[::-1] + "x"}
        response = client.post(path, data=data)
        page = response.get_data(as_text=True)
        tally["cases"] += 1
        assert response.status_code < 500, (response.status_code, fields, page[-2000:])
        if not right_token:
            assert response.status_code == 400
            assert "did not come from this site" in page
            tally["csrf"] += 1
            return
        assert response.status_code in (200, 400), (response.status_code, fields)
        if response.status_code == 200:
            tally["ok"] += 1
            return
        tally["rejected"] += 1
        lost = [
            name
            for name in TYPED
            if name in fields and f'value="{escape(fields[name])}"' not in page
        ]
        assert lost == [], f"typed input not kept in the form: {lost} of {fields}"

    check()
    return tally


def test_predict_form_survives_fuzzing_and_keeps_the_input(client):
    started = time.monotonic()
    tally = _fuzz(client, "/", {})
    seconds = time.monotonic() - started
    assert tally["cases"] >= EXAMPLES_PER_FORM
    assert tally["csrf"] > 0 and tally["rejected"] > 0 and tally["ok"] > 0
    print(f"\npredict form: {tally} in {seconds:.1f} s")


def test_compare_form_survives_fuzzing_and_keeps_the_input(client):
    started = time.monotonic()
    tally = _fuzz(client, "/compare", {"states": ["Texas", "Atlantis", "Ohio"]})
    seconds = time.monotonic() - started
    assert tally["cases"] >= EXAMPLES_PER_FORM
    assert tally["csrf"] > 0 and tally["rejected"] > 0 and tally["ok"] > 0
    print(f"\ncompare form: {tally} in {seconds:.1f} s")
