"""`help`: the commands this bot knows, or one of them in detail."""

from __future__ import annotations

from bot.pipeline import text as pipeline_text
from bot.pipeline.builtins import text
from bot.pipeline.builtins.registry import builtin
from bot.pipeline.context import Context
from bot.pipeline.parse import BuiltinCall
from bot.pipeline.specs import ParamType
from bot.platform.errors import ParseError
from bot.platform.formatting import seconds_text
from bot.platform.words import suggest


@builtin(
    name="help",
    summary="List commands, or explain one",
    usage="help [command]",
    permission=None,
    argument="command",
)
def help_(context: Context, call: BuiltinCall) -> str:
    specs, builtins = context.specs, context.builtins
    if call.argument is None:
        rows = [(spec.usage(), spec.summary) for spec in specs.values()]
        rows += [(b.usage, b.summary) for b in builtins.values()]
        return text.help_index(rows)
    name = call.argument.lower()
    if name in builtins:
        found = builtins[name]
        return text.help_command(found.usage, found.summary, list(found.details), [])
    if name not in specs:
        known = sorted(set(specs) | set(builtins))
        raise ParseError(pipeline_text.unknown_command(call.argument, suggest(name, known)))
    spec = specs[name]
    details = []
    for param in spec.params.values():
        label = f"--{param.name.replace('_', '-')}" if param.is_flag else f"<{param.name}>"
        extra = ""
        if param.type is ParamType.TARGETS:
            extra = f" (one of: {', '.join(context.inventory.names()[:15])})"
        elif param.type is ParamType.CHOICE:
            extra = f" (one of: {', '.join(param.choices)})"
        elif param.type is ParamType.INT:
            extra = f" ({param.minimum} to {param.maximum})"
        elif param.type is ParamType.DURATION:
            extra = f" ({seconds_text(param.minimum or 0)} to {seconds_text(param.maximum or 0)})"
        details.append(f"  {label}: {param.help}{extra}")
    footer = [
        text.help_footer(spec.permission, spec.confirm.value, spec.timeout, spec.manual_minutes)
    ]
    return text.help_command(spec.usage(), spec.summary, details, footer)
