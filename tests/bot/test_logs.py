import io
import json
import logging

from bot.config import load_settings
from bot.logs import mask, setup_logging


def test_mask_phone_and_id_numbers():
    assert mask("电话13812345678") == "电话138****5678"
    assert mask("call +86 138-1234-5678 now") == "call +86 138****5678 now"
    assert mask("身份证110101199003071234。") == "身份证1101**********1234。"
    assert mask("11010119900307123X") == "1101**********123X"
    assert mask("订单 12345678901234567890 和 12345") == "订单 12345678901234567890 和 12345"


def _capture(settings):
    stream = io.StringIO()
    handler = setup_logging(settings, stream=stream)
    return stream, handler


def test_every_record_is_masked_plain_and_json(caplog):
    stream, handler = _capture(load_settings(log_json=False))
    try:
        logging.getLogger("somebody.else").warning("villager %s gave id %s", "13912345678", "110101199003071234")
        try:
            raise ValueError("phone 15012345678")
        except ValueError:
            logging.getLogger("x").exception("failed for 15012345678")
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert "15012345678" not in caplog.text  # other handlers (here pytest's) see masked records
    assert "13912345678" not in text and "139****5678" in text
    assert "110101199003071234" not in text and "1101**********1234" in text
    assert "15012345678" not in text and "failed for 150****5678" in text
    assert "ValueError: phone 150****5678" in text  # exception text too

    stream, handler = _capture(load_settings(log_json=True))
    try:
        logging.getLogger("xiangzhu.test").error("message %s from 13812345678", "m-9", extra={"message_id": "m-9"})
    finally:
        logging.getLogger().removeHandler(handler)
    entry = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert entry["msg"] == "message m-9 from 138****5678"
    assert entry["level"] == "ERROR" and entry["message_id"] == "m-9" and entry["logger"] == "xiangzhu.test"
