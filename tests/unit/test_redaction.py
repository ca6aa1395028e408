import base64
import logging

from bootstrap import redaction


def test_redaction_register_masks_clear_base64_and_json_forms():
    secret = 'p@ss"word/42'
    redaction.register(secret)
    basic = base64.b64encode(f":{secret}".encode()).decode()
    escaped = secret.replace('"', '\\"')
    text = f"a {secret} b Basic {basic} c {escaped} d p%40ss%22word%2F42"
    out = redaction.redact(text)
    assert secret not in out
    assert basic not in out
    assert "p%40ss" not in out
    assert out.count(redaction.MASK) == 4


def test_redaction_formatter_masks_message_and_traceback():
    redaction.register("hunter2-secret")
    formatter = redaction.RedactingFormatter("%(message)s")
    try:
        raise ValueError("boom hunter2-secret")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "got %s", ("hunter2-secret",), sys.exc_info()
        )
    assert "hunter2-secret" not in formatter.format(record)


def test_redaction_short_values_are_not_registered():
    redaction.register("abc")
    assert redaction.redact("abcdef") == "abcdef"
