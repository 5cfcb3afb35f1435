from query.errorline import MAX_CHARS, first_error_line


def _chunks(text: str, size: int = 7) -> list[bytes]:
    data = text.encode()
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_errorline_first_line_that_says_error_across_chunks() -> None:
    text = "Cloning...\nok 12 files\n\x1b[31mfatal: could not read Username\x1b[0m\nerror: x\n"
    assert first_error_line(_chunks(text)) == "fatal: could not read Username"


def test_errorline_words_not_substrings() -> None:
    # "terror" and "failover" are no errors; "FAIL" is.
    text = "terror.go compiled\nfailover ready\n--- FAIL: TestX\n"
    assert first_error_line(_chunks(text)) == "--- FAIL: TestX"


def test_errorline_last_line_when_nothing_says_error() -> None:
    assert first_error_line(_chunks("step 1\nexit status 3\n\n  \n")) == "exit status 3"
    assert first_error_line(_chunks("no newline at the end")) == "no newline at the end"


def test_errorline_empty_log_and_long_lines() -> None:
    assert first_error_line([]) is None
    assert first_error_line([b"\n\n"]) is None
    line = first_error_line([b"Error: " + b"x" * 5000 + b"\n"])
    assert line is not None and len(line) == MAX_CHARS and line.startswith("Error: x")


def test_errorline_invalid_utf8_is_replaced() -> None:
    assert first_error_line([b"panic: \xff\xfe bad\n"]) == "panic: \ufffd\ufffd bad"
