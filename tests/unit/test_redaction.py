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


def _all_base64_forms(secret: str) -> list[str]:
    raw = secret.encode()
    forms = []
    for prefix in (b"", b":", b"user:", b"ab:"):
        encoded = base64.b64encode(prefix + raw).decode()
        forms += [encoded, base64.urlsafe_b64encode(prefix + raw).decode()]
    return forms


def test_redaction_base64_masked_at_every_alignment():
    secret = "pat-0123456789abcdefXYZ"
    redaction.register(secret)
    for form in _all_base64_forms(secret):
        out = redaction.redact(f"Authorization: Basic {form}")
        assert form not in out
        assert redaction.MASK in out, form


def test_redaction_json_body_in_sdk_debug_log_is_masked(caplog):
    import json

    secret = 'ünï"cødé\\pw 42'
    redaction.register(secret)
    body = json.dumps({"variables": {"ACR_PASSWORD": {"isSecret": True, "value": secret}}})
    nested = json.dumps({"body": body})
    with caplog.at_level(logging.DEBUG, logger="msrest.http_logger"):
        logging.getLogger("msrest.http_logger").debug(body)
        logging.getLogger("msrest.http_logger").debug("%r", body.encode())
        logging.getLogger("msrest.http_logger").debug(nested)
        logging.getLogger("msrest.http_logger").debug(json.dumps({"v": secret}, ensure_ascii=False))
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert secret not in text
    assert json.dumps(secret)[1:-1] not in text
    assert caplog.text.count(redaction.MASK) == 4


def test_redaction_record_factory_masks_for_any_handler():
    import io

    redaction.register("factory-secret-77")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # a plain formatter: only the factory protects it
    logger = logging.getLogger("test.redaction.factory")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("value=%s", "factory-secret-77")
    finally:
        logger.removeHandler(handler)
    assert "factory-secret-77" not in stream.getvalue()
    assert redaction.MASK in stream.getvalue()
