from webhooks.errors import InvalidInput, UnsupportedMediaType


def test_invalid_input_single_problem_is_the_summary():
    exc = InvalidInput(["events[0]: ce-id header is missing"])
    assert exc.status == 400
    assert exc.error == "events[0]: ce-id header is missing"
    assert exc.errors == ["events[0]: ce-id header is missing"]
    assert isinstance(exc, ValueError)


def test_invalid_input_counts_several_problems():
    exc = InvalidInput(["a", "b", "c"])
    assert exc.error.startswith("invalid input: 3 problems")
    assert (exc.errors, exc.status) == (["a", "b", "c"], 400)


def test_invalid_input_takes_a_summary_and_status():
    exc = InvalidInput(["x"], status=422, error="nope")
    assert (exc.status, exc.error, str(exc)) == (422, "nope", "nope")


def test_invalid_input_string_is_one_problem():
    assert InvalidInput("one problem").errors == ["one problem"]  # type: ignore[arg-type]


def test_invalid_input_prefixed():
    assert InvalidInput(["a", "b"]).prefixed("items[3]: ") == ["items[3]: a", "items[3]: b"]


def test_unsupported_media_type_is_415_invalid_input():
    exc = UnsupportedMediaType(["Content-Type 'text/plain' is not JSON"])
    assert exc.status == 415
    assert isinstance(exc, InvalidInput)
