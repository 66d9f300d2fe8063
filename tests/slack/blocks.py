"""Block Kit checks the local Slack applies before it accepts a message or a view.

Faithful: the documented limits that bots trip over (50 blocks per message,
100 per view, section text 3000 characters, section fields 10 × 2000, header
150, context 10 elements, actions 25 elements, button text 75, markdown block
12000, block_id 255 and unique), the known block types, text objects that must
be `plain_text`/`mrkdwn` and non-empty, and error messages in Slack's
`[ERROR] … [json-pointer:/blocks/0/text/text]` form.
Simplified: element-level checks stop at buttons; a block type not listed here
is answered `invalid_blocks` even if Slack has since added it.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
# Slack refuses a message whose blocks carry more text than this, all blocks together, with
# `msg_blocks_too_long`, though each block is within its own limit. Undocumented except for the
# markdown block; Slack staff gave "12,000 text characters" (slackapi/bolt-js#2509, #2867).
MAX_BLOCKS_TEXT = 12000

KNOWN_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)

_Errors = list[str]


def _error(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _text_object(obj: Any, pointer: str, max_len: int, kinds: tuple[str, ...]) -> _Errors:
    if not isinstance(obj, dict):
        return [_error("must be an object", pointer)]
    if obj.get("type") not in kinds:
        return [_error(f"must be one of {', '.join(kinds)}", f"{pointer}/type")]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [_error("must be more than 0 characters", f"{pointer}/text")]
    if len(text) > max_len:
        return [_error(f"must be less than {max_len + 1} characters", f"{pointer}/text")]
    return []


def _section(block: dict[str, Any], pointer: str) -> _Errors:
    errors: _Errors = []
    kinds = ("plain_text", "mrkdwn")
    if "text" in block:
        errors += _text_object(block["text"], f"{pointer}/text", 3000, kinds)
    fields = block.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > 10:
            errors.append(_error("no more than 10 items allowed", f"{pointer}/fields"))
        else:
            for i, item in enumerate(fields):
                errors += _text_object(item, f"{pointer}/fields/{i}", 2000, kinds)
    if "text" not in block and fields is None:
        errors.append(_error("must provide either text or fields", pointer))
    return errors


def _header(block: dict[str, Any], pointer: str) -> _Errors:
    return _text_object(block.get("text"), f"{pointer}/text", 150, ("plain_text",))


def _elements(block: dict[str, Any], pointer: str, limit: int) -> _Errors:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [_error("must provide at least 1 item", f"{pointer}/elements")]
    if len(elements) > limit:
        return [_error(f"no more than {limit} items allowed", f"{pointer}/elements")]
    return []


def _actions(block: dict[str, Any], pointer: str) -> _Errors:
    errors = _elements(block, pointer, 25)
    if errors:
        return errors
    for i, element in enumerate(block["elements"]):
        where = f"{pointer}/elements/{i}"
        if not isinstance(element, dict) or "type" not in element:
            errors.append(_error("must be an object with a type", where))
        elif element["type"] == "button":
            errors += _text_object(element.get("text"), f"{where}/text", 75, ("plain_text",))
            if len(str(element.get("value", ""))) > 2000:
                errors.append(_error("must be less than 2001 characters", f"{where}/value"))
        if isinstance(element, dict) and len(str(element.get("action_id", ""))) > 255:
            errors.append(_error("must be less than 256 characters", f"{where}/action_id"))
    return errors


def _markdown(block: dict[str, Any], pointer: str) -> _Errors:
    text = block.get("text")
    if not isinstance(text, str) or not text:
        return [_error("must be more than 0 characters", f"{pointer}/text")]
    if len(text) > 12000:
        return [_error("must be less than 12001 characters", f"{pointer}/text")]
    return []


def _image(block: dict[str, Any], pointer: str) -> _Errors:
    errors: _Errors = []
    if "image_url" not in block and "slack_file" not in block:
        errors.append(_error("must provide either image_url or slack_file", pointer))
    alt = block.get("alt_text")
    if not isinstance(alt, str) or not alt:
        errors.append(_error("must be more than 0 characters", f"{pointer}/alt_text"))
    return errors


_CHECKS = {
    "section": _section,
    "header": _header,
    "context": lambda block, pointer: _elements(block, pointer, 10),
    "actions": _actions,
    "markdown": _markdown,
    "image": _image,
}


def _block(block: Any, pointer: str) -> _Errors:
    if not isinstance(block, dict):
        return [_error("must be an object", pointer)]
    kind = block.get("type")
    if kind not in KNOWN_TYPES:
        return [_error(f"unsupported type: {kind}", f"{pointer}/type")]
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > 255):
        return [_error("must be a string of at most 255 characters", f"{pointer}/block_id")]
    check = _CHECKS.get(kind)
    return check(block, pointer) if check is not None else []


def blocks_text_length(value: Any) -> int:
    """The characters of every `text` string in `value` (blocks, elements, text objects)."""
    if isinstance(value, list):
        return sum(blocks_text_length(item) for item in value)
    if not isinstance(value, dict):
        return 0
    total = 0
    for key, item in value.items():
        if key == "text" and isinstance(item, str):
            total += len(item)
        else:
            total += blocks_text_length(item)
    return total


def validate_blocks(blocks: list[Any], pointer: str, limit: int) -> _Errors:
    """Every problem Slack would report for `blocks`; an empty list means valid."""
    if len(blocks) > limit:
        return [_error(f"no more than {limit} items allowed", pointer)]
    errors: _Errors = []
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        errors += _block(block, f"{pointer}/{i}")
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            if block_id in seen:
                errors.append(_error("duplicate block_id", f"{pointer}/{i}/block_id"))
            seen.add(block_id)
    return errors
