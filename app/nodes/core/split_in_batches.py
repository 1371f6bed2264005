"""Split In Batches / Loop Over Items: hands its input out one batch per run.

The first run (or a run with the "reset" option) takes the input as the set to split, emits the
first batch and keeps the rest in the node's state for the execution; every later run emits the
next batch. The state uses n8n's key names (items, currentRunIndex, maxRunIndex, sourceData,
noItemsLeft, processedItems, done), which expressions read as `$node["…"].context`.

- version 1: each batch on its only output; when nothing is left the node returns no data, which
  ends its branch;
- versions 2 and 2.1: each batch on "loop" (0); when nothing is left, every item that came back
  into the node during the loop on "done" (1); 2.1 sets noItemsLeft only on that "done" run;
- version 3, "Loop Over Items": as version 2 with the outputs swapped, "done" (0) and "loop" (1).
"""
import math

from app.engine.node import NodeType, Property
from app.engine.registry import register

NOTICE = ("You may not need this node — n8n nodes automatically run once for each input item. "
          '<a href="https://docs.n8n.io/getting-started/key-concepts/looping.html#using-loops-in-n8n" '
          'target="_blank">More info</a>')
RESET_BEFORE_V3 = "Whether the node will be reset and so with the current input-data newly initialized"
RESET_FROM_V3 = ("Whether the node starts again from the beginning of the input items. This will treat "
                 "incoming data as a new set rather than continuing with the previous items.")


def _batch_size(default, **display):
    return Property(name="batchSize", display_name="Batch Size", type="number", default=default,
                    description="The number of items to return with each call", type_options={"minValue": 1},
                    **display)


def _options(description, **display):
    return Property(name="options", display_name="Options", type="collection", default={},
                    placeholder="Add option", options=[
                        Property(name="reset", display_name="Reset", type="boolean", default=False,
                                 description=description),
                    ], **display)


BEFORE_V3 = {"show": {"@version": [{"_cnd": {"lt": 3}}]}}
FROM_V3 = {"show": {"@version": [{"_cnd": {"gte": 3}}]}}


@register
class SplitInBatches(NodeType):
    type = "splitInBatches"
    versions = (1, 2, 2.1, 3)
    display_name = "Loop Over Items (Split in Batches)"
    description = "Split data into batches and iterate over each batch"
    group = "flow"
    icon = "sync"
    outputs = ("main", "main")
    output_names = ("done", "loop")
    properties = (
        Property(name="splitInBatchesNotice", display_name=NOTICE, type="notice", default=""),
        _batch_size(10, display_options=BEFORE_V3),
        _batch_size(1, display_options=FROM_V3),
        _options(RESET_BEFORE_V3, display_options=BEFORE_V3),
        _options(RESET_FROM_V3, display_options=FROM_V3),
    )

    def output_count(self, node):
        return 1 if node.type_version < 2 else 2

    def execute(self, ctx):
        state = ctx.node_state
        batch_size = _whole_number(ctx, ctx.get_param("batchSize", 0))
        options = ctx.get_param("options", 0) or {}
        if _starts_over(ctx, state, options):
            batch = _start(ctx, state, batch_size)
        else:
            batch = _next_batch(ctx, state, batch_size)
        # Version 2.1 (a short-lived n8n version) says "no items left" only once the loop is done.
        state["noItemsLeft"] = not batch if ctx.type_version == 2.1 else not state["items"]
        if ctx.type_version < 2:
            return [batch] if batch else None
        return _loop_outputs(ctx.type_version, state, batch)


def _starts_over(ctx, state, options):
    """Whether this run takes its input as a new set to split: the first run, a reset, or (from
    version 2) a run after the loop was done, which is an outer loop handing in its next batch."""
    if "items" not in state or options.get("reset") is True:
        return True
    return ctx.type_version >= 2 and state.get("done") is True and bool(ctx.input_items())


def _whole_number(ctx, value):
    """The batch size as the integer JavaScript's splice would use; below 1 the loop could never
    move on, so that is an error rather than n8n's endless loop."""
    try:
        size = math.trunc(float(value))
    except (TypeError, ValueError, OverflowError):
        size = 0
    if size < 1:
        raise ctx.error(f"The batch size must be a whole number of at least 1, not {value!r}")
    return size


def _start(ctx, state, batch_size):
    """Take the input as the items to split and hand out the first batch."""
    items = list(ctx.input_items())
    state["currentRunIndex"] = 0
    state["maxRunIndex"] = math.ceil(len(items) / batch_size)
    state["sourceData"] = ctx.input_source()
    state["items"] = items[batch_size:]
    state["processedItems"] = []
    state["done"] = False
    return items[:batch_size]


def _next_batch(ctx, state, batch_size):
    """The next batch. Its items were emitted by the first run, so their lineage points at that
    run's input (`sourceOverwrite`), not at the node that looped back; what came back in is kept
    for the "done" output."""
    state["currentRunIndex"] += 1
    batch, state["items"] = state["items"][:batch_size], state["items"][batch_size:]
    returning = ctx.input_source()
    state["processedItems"] = state["processedItems"] + [
        {**item, "pairedItem": {"sourceOverwrite": returning, "item": index}}
        for index, item in enumerate(ctx.input_items())
    ]
    origin = state["sourceData"]
    return [{**item, "pairedItem": _with_source(item.get("pairedItem"), origin)} for item in batch]


def _with_source(paired, source):
    if paired is None:
        return {"item": 0, "sourceOverwrite": source}
    if isinstance(paired, list):
        return [_with_source(entry, source) for entry in paired]
    if isinstance(paired, int):
        return {"item": paired, "sourceOverwrite": source}
    return {**paired, "sourceOverwrite": source}


def _loop_outputs(version, state, batch):
    state["done"] = not batch
    done, loop = (state["processedItems"], []) if not batch else ([], batch)
    return [loop, done] if version < 3 else [done, loop]
