"""Merge: combines the items of two (version 3: up to ten) inputs into one output.

- version 1 (legacy modes): append, keepKeyMatches, mergeByIndex, mergeByKey, multiplex,
  passThrough, removeKeyMatches, wait;
- versions 2 and 2.1: append, combine (mergeByFields, mergeByPosition, multiplex), chooseBranch;
- versions 3 to 3.2: append, combine (combineByFields, combineByPosition, combineAll) and
  chooseBranch over `numberInputs` inputs. The SQL mode (combineBySql) runs the user's SQL over the
  items with AlaSQL in n8n; FlowForge has no such engine, so that mode fails with a clear error.

Field values are read, compared and combined with lodash's rules (get by path, isEqual, deep
merge), as n8n does, so nested objects and arrays combine the same way.
"""
import copy
import json

from app.engine.node import NodeType, Option, Property
from app.engine.registry import register
from app.engine.type_validation import js_string
from app.nodes.core.set_node import path_of

V1 = {"@version": [1]}
V2 = {"@version": [2, 2.1]}
V3 = {"@version": [{"_cnd": {"gte": 3}}]}
KEY_MODES = ("keepKeyMatches", "mergeByKey", "removeKeyMatches")


class _Undefined:
    """JavaScript's undefined: a field that is absent, as opposed to one that is null."""

    def __repr__(self):
        return "undefined"


UNDEFINED = _Undefined()


# -- description -----------------------------------------------------------------------------------
def _options(name, display_name, default, choices, description="", **extra):
    return Property(name=name, display_name=display_name, type="options", default=default,
                    description=description, options=[Option(*choice) for choice in choices], **extra)


def _show(conditions, version):
    return {"show": {**conditions, **version}}


V1_PROPERTIES = [
    Property(name="oldVersionNotice", type="notice", default="", display_options={"show": V1},
             display_name="This node is out of date. Please upgrade by removing it and adding a new one"),
    _options("mode", "Mode", "append", [
        ("Append", "append", "Combines data of both inputs. The output will contain items of input 1 and input 2."),
        ("Keep Key Matches", "keepKeyMatches", "Keeps data of input 1 if it does find a match with data of input 2"),
        ("Merge By Index", "mergeByIndex",
         "Merges data of both inputs. The output will contain items of input 1 merged with data of input 2. "
         "Merge happens depending on the index of the items. So first item of input 1 will be merged with first "
         "item of input 2 and so on."),
        ("Merge By Key", "mergeByKey",
         "Merges data of both inputs. The output will contain items of input 1 merged with data of input 2. "
         "Merge happens depending on a defined key."),
        ("Multiplex", "multiplex",
         "Merges each value of one input with each value of the other input. The output will contain (m * n) "
         "items where (m) and (n) are lengths of the inputs."),
        ("Pass-Through", "passThrough",
         "Passes through data of one input. The output will contain only items of the defined input."),
        ("Remove Key Matches", "removeKeyMatches",
         "Keeps data of input 1 if it does NOT find match with data of input 2"),
        ("Wait", "wait",
         "Waits till data of both inputs is available and will then output a single empty item. Source Nodes must "
         "connect to both Input 1 and 2. This node only supports 2 Sources, if you need more Sources, connect "
         "multiple Merge nodes in series. This node will not output any data."),
    ], "How data of branches should be merged", display_options={"show": V1}),
    _options("join", "Join", "left", [
        ("Inner Join", "inner", "Merges as many items as both inputs contain. (Example: Input1 = 5 items, Input2 = 3 "
                                "items | Output will contain 3 items)."),
        ("Left Join", "left", "Merges as many items as first input contains. (Example: Input1 = 3 items, Input2 = 5 "
                              "items | Output will contain 3 items)."),
        ("Outer Join", "outer", "Merges as many items as input contains with most items. (Example: Input1 = 3 "
                                "items, Input2 = 5 items | Output will contain 5 items)."),
    ], "How many items the output will contain if inputs contain different amount of items",
        display_options=_show({"mode": ["mergeByIndex"]}, V1)),
    Property(name="propertyName1", display_name="Property Input 1", type="string", default="", required=True,
             description="Name of property which decides which items to merge of input 1",
             placeholder="e.g. id", display_options=_show({"mode": list(KEY_MODES)}, V1)),
    Property(name="propertyName2", display_name="Property Input 2", type="string", default="", required=True,
             description="Name of property which decides which items to merge of input 2",
             placeholder="e.g. id", display_options=_show({"mode": list(KEY_MODES)}, V1)),
    _options("output", "Output Data", "input1", [("Input 1", "input1"), ("Input 2", "input2")],
             "Defines of which input the data should be used as output of node",
             display_options=_show({"mode": ["passThrough"]}, V1)),
    _options("overwrite", "Overwrite", "always", [
        ("Always", "always", "Always overwrites everything"),
        ("If Blank", "blank", 'Overwrites only values of "null", "undefined" or empty string'),
        ("If Missing", "undefined", "Only adds values which do not exist yet"),
    ], "Select when to overwrite the values from Input1 with values from Input 2",
        display_options=_show({"mode": ["mergeByKey"]}, V1)),
]


def _clash_handling(prefer_last, default_values=None, display_options=None):
    """The "Clash Handling" option; version 3 calls "prefer input 2" preferLast (the last input)."""
    prefer_second = "preferLast" if prefer_last else "preferInput2"
    shown = ({"resolveClash": [{"_cnd": {"not": "addSuffix"}}]} if prefer_last
             else {"resolveClash": ["preferInput1", "preferInput2"]})
    resolve_choices = [("Always Add Input Number to Field Names", "addSuffix"),
                       ("Prefer Input 1 Version", "preferInput1"), ("Prefer Input 2 Version", prefer_second)]
    return Property(
        name="clashHandling", display_name="Clash Handling", type="fixedCollection",
        default={"values": default_values or {"resolveClash": prefer_second, "mergeMode": "deepMerge",
                                               "overrideEmpty": False}},
        display_options=display_options,
        options=[Property(name="values", display_name="Values", type="collection", options=[
            _options("resolveClash", "When Field Values Clash", "", resolve_choices),
            _options("mergeMode", "Merging Nested Fields", "deepMerge", [
                ("Deep Merge", "deepMerge", "Merge at every level of nesting"),
                ("Shallow Merge", "shallowMerge",
                 "Merge at the top level only (all nested fields will come from the same input)"),
            ], "How to merge when there are sub-fields below the top-level ones", display_options={"show": shown}),
            Property(name="overrideEmpty", display_name="Minimize Empty Fields", type="boolean", default=False,
                     description="Whether to override the preferred input version for a field if it is empty and "
                                 "the other version isn't. Here 'empty' means undefined, null or an empty string.",
                     display_options={"show": shown}),
        ])])


def _multiple_matches(display_options):
    return _options("multipleMatches", "Multiple Matches", "all", [
        ("Include All Matches", "all", "Output multiple items if there are multiple matches"),
        ("Include First Match Only", "first", "Only ever output a single item per match"),
    ], display_options=display_options)


FUZZY_COMPARE = Property(
    name="fuzzyCompare", display_name="Fuzzy Compare", type="boolean", default=False,
    description="Whether to tolerate small type differences when comparing fields. E.g. the number 3 and the "
                "string '3' are treated as the same.")
DISABLE_DOT_NOTATION_DESCRIPTION = "Whether to disallow referencing child fields using `parent.child` in the field name"


def _fields_to_match(display_options):
    field = dict(type="string", default="", placeholder="e.g. id")
    return Property(name="mergeByFields", display_name="Fields to Match", type="fixedCollection",
                    default={"values": [{"field1": "", "field2": ""}]}, placeholder="Add Fields to Match",
                    type_options={"multipleValues": True}, display_options=display_options,
                    options=[Property(name="values", display_name="Values", type="collection", options=[
                        Property(name="field1", display_name="Input 1 Field", **field),
                        Property(name="field2", display_name="Input 2 Field", **field),
                    ])])


def _join_modes(display_options, description=""):
    return _options("joinMode", "Output Type", "keepMatches", [
        ("Keep Matches", "keepMatches", "Items that match, merged together (inner join)"),
        ("Keep Non-Matches", "keepNonMatches", "Items that don't match"),
        ("Keep Everything", "keepEverything",
         "Items that match merged together, plus items that don't match (outer join)"),
        ("Enrich Input 1", "enrichInput1", "All of input 1, with data from input 2 added in (left join)"),
        ("Enrich Input 2", "enrichInput2", "All of input 2, with data from input 1 added in (right join)"),
    ], description, display_options=display_options)


def _output_data_from(both_label, conditions):
    return _options("outputDataFrom", "Output Data From", "both",
                    [(both_label, "both"), ("Input 1", "input1"), ("Input 2", "input2")],
                    display_options={"show": conditions})


V2_BY_FIELDS = {"mode": ["combine"], "combinationMode": ["mergeByFields"]}
V2_PROPERTIES = [
    _options("mode", "Mode", "append", [
        ("Append", "append", "All items of input 1, then all items of input 2"),
        ("Combine", "combine", "Merge matching items together"),
        ("Choose Branch", "chooseBranch", "Output input data, without modifying it"),
    ], "How data of branches should be merged", display_options={"show": V2}),
    _options("combinationMode", "Combination Mode", "mergeByFields", [
        ("Merge By Fields", "mergeByFields", "Combine items with the same field values"),
        ("Merge By Position", "mergeByPosition", "Combine items based on their order"),
        ("Multiplex", "multiplex", "All possible item combinations (cross join)"),
    ], display_options=_show({"mode": ["combine"]}, V2)),
    _fields_to_match(_show(V2_BY_FIELDS, V2)),
    _join_modes(_show(V2_BY_FIELDS, V2)),
    _output_data_from("Both Inputs Merged Together", {**V2_BY_FIELDS, "joinMode": ["keepMatches"], **V2}),
    _output_data_from("Both Inputs Appended Together", {**V2_BY_FIELDS, "joinMode": ["keepNonMatches"], **V2}),
    _options("chooseBranchMode", "Output Type", "waitForBoth", [("Wait for Both Inputs to Arrive", "waitForBoth")],
             display_options=_show({"mode": ["chooseBranch"]}, V2)),
    _options("output", "Output", "input1",
             [("Input 1 Data", "input1"), ("Input 2 Data", "input2"), ("A Single, Empty Item", "empty")],
             display_options=_show({"mode": ["chooseBranch"], "chooseBranchMode": ["waitForBoth"]}, V2)),
    Property(name="options", display_name="Options", type="collection", default={}, placeholder="Add option",
             display_options={"show": V2, "hide": {"mode": ["chooseBranch", "append"]}}, options=[
                 _clash_handling(False, display_options={
                     "show": {"/mode": ["combine"], "/combinationMode": ["mergeByFields"]},
                     "hide": {"/joinMode": ["keepMatches", "keepNonMatches"]}}),
                 _clash_handling(False, display_options={"show": {
                     "/mode": ["combine"], "/combinationMode": ["mergeByFields"], "/joinMode": ["keepMatches"],
                     "/outputDataFrom": ["both"]}}),
                 _clash_handling(False, display_options={"show": {
                     "/mode": ["combine"], "/combinationMode": ["multiplex", "mergeByPosition"]}}),
                 Property(name="disableDotNotation", display_name="Disable Dot Notation", type="boolean",
                          default=False, description=DISABLE_DOT_NOTATION_DESCRIPTION,
                          display_options={"show": {"/mode": ["combine"], "/combinationMode": ["mergeByFields"]}}),
                 FUZZY_COMPARE,
                 Property(name="includeUnpaired", display_name="Include Any Unpaired Items", type="boolean",
                          default=False,
                          description="If there are different numbers of items in input 1 and input 2, whether to "
                                      "include the ones at the end with nothing to pair with",
                          display_options={"show": {"/mode": ["combine"], "/combinationMode": ["mergeByPosition"]}}),
                 _multiple_matches({"show": {"/mode": ["combine"], "/combinationMode": ["mergeByFields"],
                                             "/joinMode": ["keepMatches"], "/outputDataFrom": ["both"]}}),
                 _multiple_matches({"show": {"/mode": ["combine"], "/combinationMode": ["mergeByFields"],
                                             "/joinMode": ["enrichInput1", "enrichInput2", "keepEverything"]}}),
             ]),
]


def _number_inputs(modes):
    return Property(name="numberInputs", display_name="Number of Inputs", type="options", default=2,
                    no_data_expression=True, options=[Option(str(n), n) for n in range(2, 11)],
                    description="The number of data inputs you want to merge. The node waits for all connected "
                                "inputs to be executed.",
                    display_options=_show({"mode": modes}, V3))


V3_BY_FIELDS = {"mode": ["combine"], "combineBy": ["combineByFields"]}
V3_PROPERTIES = [
    _options("mode", "Mode", "append", [
        ("Append", "append", "Output items of each input, one after the other"),
        ("Combine", "combine", "Merge matching items together"),
        ("SQL Query", "combineBySql", "Write a query to do the merge"),
        ("Choose Branch", "chooseBranch", "Output data from a specific branch, without modifying it"),
    ], "How input data should be merged", no_data_expression=True, display_options={"show": V3}),
    _options("combineBy", "Combine By", "combineByFields", [
        ("Matching Fields", "combineByFields", "Combine items with the same field values"),
        ("Position", "combineByPosition", "Combine items based on their order"),
        ("All Possible Combinations", "combineAll", "Every pairing of every two items (cross join)"),
    ], "How input data should be merged", no_data_expression=True, display_options=_show({"mode": ["combine"]}, V3)),
    _number_inputs(["append", "combineBySql", "chooseBranch"]),
    Property(name="numberInputs", display_name="Number of Inputs", type="options", default=2,
             no_data_expression=True, options=[Option(str(n), n) for n in range(2, 11)],
             description="The number of data inputs you want to merge. The node waits for all connected inputs to "
                         "be executed.",
             display_options=_show({"mode": ["combine"], "combineBy": ["combineByPosition"]}, V3)),
    Property(name="options", display_name="Options", type="collection", default={}, placeholder="Add option",
             display_options=_show({"mode": ["combine"], "combineBy": ["combineAll"]}, V3),
             options=[_clash_handling(True), FUZZY_COMPARE]),
    Property(name="advanced", display_name="Fields To Match Have Different Names", type="boolean", default=False,
             description="Whether name(s) of field to match are different in input 1 and input 2",
             display_options=_show(V3_BY_FIELDS, V3)),
    Property(name="fieldsToMatchString", display_name="Fields to Match", type="string", default="",
             placeholder="e.g. id, name", description="Specify the fields to use for matching input items",
             display_options=_show({**V3_BY_FIELDS, "advanced": [False]}, V3)),
    _fields_to_match(_show({**V3_BY_FIELDS, "advanced": [True]}, V3)),
    _join_modes(_show(V3_BY_FIELDS, V3), "How to select the items to send to output"),
    _output_data_from("Both Inputs Merged Together", {**V3_BY_FIELDS, "joinMode": ["keepMatches"], **V3}),
    _output_data_from("Both Inputs Appended Together", {**V3_BY_FIELDS, "joinMode": ["keepNonMatches"], **V3}),
    Property(name="options", display_name="Options", type="collection", default={}, placeholder="Add option",
             display_options=_show(V3_BY_FIELDS, V3), options=[
                 _clash_handling(True, display_options={"hide": {"/joinMode": ["keepMatches", "keepNonMatches"]}}),
                 _clash_handling(True, display_options={"show": {"/joinMode": ["keepMatches"],
                                                                 "/outputDataFrom": ["both"]}}),
                 Property(name="disableDotNotation", display_name="Disable Dot Notation", type="boolean",
                          default=False, description=DISABLE_DOT_NOTATION_DESCRIPTION),
                 FUZZY_COMPARE,
                 _multiple_matches({"show": {"/joinMode": ["keepMatches"], "/outputDataFrom": ["both"]}}),
                 _multiple_matches({"show": {"/joinMode": ["enrichInput1", "enrichInput2", "keepEverything"]}}),
             ]),
    Property(name="query", display_name="Query", type="string", required=True, no_data_expression=True,
             default="SELECT * FROM input1 LEFT JOIN input2 ON input1.name = input2.id",
             description="Input data available as tables with corresponding number, e.g. input1, input2",
             type_options={"rows": 5, "editor": "sqlEditor"}, display_options=_show({"mode": ["combineBySql"]}, V3)),
    Property(name="options", display_name="Options", type="collection", default={}, placeholder="Add option",
             display_options={"show": {"mode": ["combineBySql"], "@version": [3.2]}}, options=[
                 _options("emptyQueryResult", "Empty Query Result", "empty",
                          [("Success", "success"), ("Empty Result", "empty")],
                          "What to return if the query executed successfully but returned no results"),
             ]),
    Property(name="options", display_name="Options", type="collection", default={}, placeholder="Add option",
             display_options=_show({"mode": ["combine"], "combineBy": ["combineByPosition"]}, V3), options=[
                 _clash_handling(True, default_values={"resolveClash": "addSuffix"}),
                 Property(name="includeUnpaired", display_name="Include Any Unpaired Items", type="boolean",
                          default=False,
                          description="Whether unpaired items should be included in the result when there are "
                                      "differing numbers of items among the inputs"),
             ]),
    _options("chooseBranchMode", "Output Type", "waitForAll", [("Wait for All Inputs to Arrive", "waitForAll")],
             display_options=_show({"mode": ["chooseBranch"]}, V3)),
    _options("output", "Output", "specifiedInput",
             [("Data of Specified Input", "specifiedInput"), ("A Single, Empty Item", "empty")],
             display_options=_show({"mode": ["chooseBranch"], "chooseBranchMode": ["waitForAll"]}, V3)),
    Property(name="useDataOfInput", display_name="Use Data of Input", type="options", default=1,
             description="The number of the input to use data of", type_options={"minValue": 1},
             options=[Option(str(n), n) for n in range(1, 11)],
             display_options=_show({"mode": ["chooseBranch"], "output": ["specifiedInput"]}, V3)),
]


@register
class Merge(NodeType):
    type = "merge"
    versions = (1, 2, 2.1, 3, 3.1, 3.2)
    display_name = "Merge"
    description = "Merges data of multiple streams once data from both is available"
    group = "flow"
    icon = "code-branch"
    inputs = ("main", "main")
    properties = tuple(V1_PROPERTIES + V2_PROPERTIES + V3_PROPERTIES)

    def input_count(self, node):
        if node.type_version < 3:
            return 2
        return _whole(node.parameters.get("numberInputs")) or 2

    def required_inputs_for(self, node):
        """n8n's requiredInputs: Choose Branch needs data on both inputs, other modes on any one."""
        if node.type_version < 2:
            return None
        return [0, 1] if node.parameters.get("mode") == "chooseBranch" else 1

    def execute(self, ctx):
        if ctx.type_version < 2:
            return _execute_v1(ctx)
        if ctx.type_version < 3:
            return _execute_v2(ctx)
        return _execute_v3(ctx)


def _whole(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# -- lodash and JavaScript semantics ---------------------------------------------------------------
def _get(data, path, dot_notation=True):
    """lodash's get(data, path), or data[path] when dot notation is off; UNDEFINED when absent."""
    if not isinstance(data, dict):
        return UNDEFINED
    if not dot_notation:
        return data.get(js_string(path), UNDEFINED)
    node = data
    for key in path_of(js_string(path), data):
        node = _child(node, key)
        if node is UNDEFINED:
            break
    return node


def _child(container, key):
    if isinstance(container, dict):
        return container.get(key, UNDEFINED)
    index = _index(key)
    if isinstance(container, list) and index is not None and index < len(container):
        return container[index]
    return UNDEFINED


def _index(key):
    if isinstance(key, int):
        return key
    return int(key) if isinstance(key, str) and key.isascii() and key.isdigit() else None


def _set(container, key, value):
    if isinstance(container, dict):
        container[key] = value
        return
    index = _index(key)
    if index is None:
        return  # a named property on an array does not survive JSON
    if index >= len(container):
        container.extend([None] * (index + 1 - len(container)))
    container[index] = value


def _typeof(value):
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string" if isinstance(value, str) else "object"


def _is_equal(a, b):
    """lodash's isEqual on JSON values: deep, and a boolean never equals a number."""
    kind = _typeof(a)
    if kind != _typeof(b):
        return False
    if kind == "number":
        return a == b or (a != a and b != b)
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(_is_equal(a[k], b[k]) for k in a))
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(_is_equal(x, y) for x, y in zip(a, b)))
    return a == b


def _empty_like(value):
    """n8n's isFalsy for fuzzy compare: null, an empty string or an empty array."""
    return value is None or value == "" or value == []


def _fuzzy_equal(a, b):
    """n8n's fuzzyCompare (version 1): equal, or equal after a lenient type conversion."""
    if a is not None and b is not None and _typeof(a) == _typeof(b):
        return _is_equal(a, b)
    if _empty_like(a) and (_empty_like(b) or b is UNDEFINED):
        return True
    if a is UNDEFINED and _empty_like(b):
        return True
    for x, y in ((a, b), (b, a)):
        if _typeof(x) == "number" and isinstance(y, str):
            return js_string(x) == y
        if isinstance(x, (dict, list)) and isinstance(y, str):
            return _parsed_equal(y, x)
        if isinstance(x, bool) and isinstance(y, (str, int, float)) and _lenient_bool(x, y):
            return True
    return _is_equal(a, b)


def _parsed_equal(text, value):
    try:
        return _is_equal(json.loads(text), value)
    except ValueError:
        return False


def _lenient_bool(flag, other):
    if isinstance(other, str):
        return other.lower() == ("true" if flag else "false") or other == ("1" if flag else "0")
    return other == (1 if flag else 0)


def _is_empty_value(value):
    """What "Minimize Empty Fields" lets the other input's value win over."""
    return value is None or value == ""


def _merge_into(target, source, keep_empty):
    """lodash's merge of one source into `target` (owned by the caller): objects and arrays merge
    key by key, everything else replaces; with `keep_empty`, an empty source value never replaces
    an existing one."""
    entries = enumerate(source) if isinstance(source, list) else source.items()
    for key, value in entries:
        current = _child(target, key)
        if keep_empty and _is_empty_value(value) and current is not UNDEFINED:
            continue
        if isinstance(value, list):
            merged = current if isinstance(current, list) else []
            _merge_into(merged, value, keep_empty)
        elif isinstance(value, dict):
            merged = current if isinstance(current, (dict, list)) else {}
            _merge_into(merged, value, keep_empty)
        else:
            merged = value
        _set(target, key, merged)
    return target


def _deep_merge(target, sources, keep_empty=False):
    for source in sources:
        if isinstance(source, (dict, list)):
            _merge_into(target, source, keep_empty)
    return target


def _shallow_merge(target, sources, keep_empty=False):
    result = dict(target)
    for source in sources:
        for key, value in (source or {}).items():
            if keep_empty and _is_empty_value(value) and key in result:
                continue
            result[key] = value
    return result


def _merge_method(clash):
    """n8n's selectMergeMethod: how the json (and binary) of combined items is merged."""
    mode = clash.get("mergeMode")
    if clash.get("overrideEmpty") and mode == "deepMerge":
        return lambda target, *sources: _deep_merge(copy.deepcopy(target), sources, keep_empty=True)
    if clash.get("overrideEmpty") and mode == "shallowMerge":
        return lambda target, *sources: _shallow_merge(target, sources, keep_empty=True)
    if mode == "shallowMerge":
        return lambda target, *sources: _shallow_merge(target, sources)
    return lambda target, *sources: _deep_merge({}, (target, *sources))


# -- items -----------------------------------------------------------------------------------------
def _item(data, binary, paired):
    """An output item; an empty binary is left out (n8n writes `binary: {}`, which shows nothing)."""
    item = {"json": data, "pairedItem": paired}
    if binary:
        item["binary"] = binary
    return item


def _paired_list(paired):
    """n8n's preparePairedItemDataArray."""
    if paired is None:
        return []
    if isinstance(paired, int):
        return [{"item": paired}]
    return list(paired) if isinstance(paired, list) else [paired]


def _suffixed(items, suffix):
    return [{**item, "json": {f"{key}_{suffix}": value for key, value in item["json"].items()}} for item in items]


def _clash_options(ctx):
    return ((ctx.get_param("options", 0) or {}).get("clashHandling") or {}).get("values") or {}


def _option(ctx, name, default=None):
    return (ctx.get_param("options", 0) or {}).get(name, default)


def _cross_join(input1, input2, clash):
    """Every pairing of an item of input 1 with an item of input 2 (multiplex / combineAll)."""
    if clash.get("resolveClash") == "preferInput1":
        input1, input2 = input2, input1
    if clash.get("resolveClash") == "addSuffix":
        input1, input2 = _suffixed(input1, "1"), _suffixed(input2, "2")
    merge = _merge_method(clash)
    return [
        _item(merge(first["json"], second["json"]), _deep_merge({}, (first.get("binary"), second.get("binary"))),
              [first.get("pairedItem"), second.get("pairedItem")])
        for first in input1 for second in input2
    ]


# -- version 1 -------------------------------------------------------------------------------------
def _execute_v1(ctx):
    mode = ctx.get_param("mode", 0)
    input1, input2 = ctx.input_items(0), ctx.input_items(1)
    if mode == "append":
        return [input1 + input2]
    if mode == "mergeByIndex":
        return [_v1_by_index(input1, input2, ctx.get_param("join", 0))]
    if mode == "multiplex":
        return [[{"json": {**first["json"], **second["json"]},
                  "pairedItem": [first.get("pairedItem"), second.get("pairedItem")]}
                 for first in input1 for second in input2]]
    if mode in KEY_MODES:
        return [_v1_by_key(ctx, mode, input1, input2)]
    if mode == "passThrough":
        return [input1 if ctx.get_param("output", 0) == "input1" else input2]
    if mode == "wait":
        return [[{"json": {}, "pairedItem": [{"item": index} for index in range(len(input1))]}]]
    return [[]]


def _v1_by_index(input1, input2, join):
    if not input1:
        return [] if join in ("inner", "left") else input2
    if not input2:
        return input1 if join in ("left", "outer") else []
    count = {"inner": min, "outer": max}.get(join, lambda a, _b: a)(len(input1), len(input2))
    merged = []
    for index in range(count):
        if index >= len(input1):
            merged.append(input2[index])
        elif index >= len(input2):
            merged.append(input1[index])
        else:
            merged.append(_v1_pair(input1[index], input2[index]))
    return merged


def _v1_pair(first, second):
    item = {"json": {**first["json"], **second["json"]},
            "pairedItem": [first.get("pairedItem"), second.get("pairedItem")]}
    binary = dict(first.get("binary") or {})
    binary.update({key: value for key, value in (second.get("binary") or {}).items() if value is not None})
    if binary:
        item["binary"] = binary
    return item


def _v1_by_key(ctx, mode, input1, input2):
    """keepKeyMatches / mergeByKey / removeKeyMatches: items of input 1 whose key value is (or is
    not) a key value of input 2; keys compare as JavaScript property names (String(value))."""
    key1, key2 = ctx.get_param("propertyName1", 0), ctx.get_param("propertyName2", 0)
    if not key1 or not key2:
        return [] if mode == "keepKeyMatches" else input1
    overwrite = ctx.get_param("overwrite", 0) or "always"
    by_key = {}
    for entry in input2:
        value = _get(entry["json"], key2)
        if value is not UNDEFINED and value not in (None, False, 0, "") and value == value:
            by_key[js_string(value)] = entry
    kept = []
    for entry in input1:
        value = _get(entry["json"], key1)
        comparable = value is None or _typeof(value) in ("string", "number")
        match = by_key.get(js_string(value)) if comparable and value is not UNDEFINED else None
        if mode == "removeKeyMatches":
            if match is None:
                kept.append(entry)
        elif match is not None:
            kept.append(_v1_merged(entry, match, key2, overwrite) if mode == "mergeByKey" else entry)
        elif mode == "mergeByKey" and comparable and value is not UNDEFINED:
            kept.append(entry)
    return kept


def _v1_merged(entry, match, key2, overwrite):
    entry = copy.deepcopy(entry)
    data = entry["json"]
    for key, value in match["json"].items():
        if key == key2:
            continue
        if (overwrite == "always" or (overwrite == "undefined" and key not in data)
                or (overwrite == "blank" and data.get(key) in (None, ""))):
            data[key] = value
    return entry


# -- version 2 -------------------------------------------------------------------------------------
def _execute_v2(ctx):
    mode = ctx.get_param("mode", 0)
    input1, input2 = ctx.input_items(0), ctx.input_items(1)
    if mode == "append":
        return [input1 + input2]
    if mode == "chooseBranch":
        return [_v2_choose_branch(ctx, input1, input2)]
    if mode != "combine":
        return [[]]
    combination = ctx.get_param("combinationMode", 0)
    if combination == "multiplex":
        return [_cross_join(input1, input2, _clash_options(ctx))]
    if combination == "mergeByPosition":
        return [_v2_by_position(input1, input2, _clash_options(ctx), _option(ctx, "includeUnpaired", False))]
    if combination == "mergeByFields":
        fields = _check_match_fields(ctx, ctx.get_param("mergeByFields", 0) or {})
        return _combine_by_fields(ctx, fields, input1, input2, prefer_last="preferInput2", stop=[[]])
    return [[]]


def _v2_choose_branch(ctx, input1, input2):
    # Explicit defaults, as in version 3: which "output" declaration applies depends on
    # chooseBranchMode, which is left out of the JSON when it has its default.
    if ctx.get_param("chooseBranchMode", 0, "waitForBoth") != "waitForBoth":
        return []
    output = ctx.get_param("output", 0, "input1")
    if output == "input1":
        return input1
    if output == "input2":
        return input2
    if output == "empty":
        return [_empty_item(input1, input2)]
    return []


def _empty_item(input1, input2):
    paired = [entry for item in input1 + input2 for entry in _paired_list(item.get("pairedItem"))]
    return {"json": {}, "pairedItem": paired}


def _v2_by_position(input1, input2, clash, include_unpaired):
    if not input1 or not input2:
        return input1 + input2
    if clash.get("resolveClash") == "preferInput1":
        input1, input2 = input2, input1
    if clash.get("resolveClash") == "addSuffix":
        input1, input2 = _suffixed(input1, "1"), _suffixed(input2, "2")
    count = (max if include_unpaired else min)(len(input1), len(input2))
    merge = _merge_method(clash)
    combined = []
    for index in range(count):
        if index >= len(input1):
            combined.append(input2[index])
        elif index >= len(input2):
            combined.append(input1[index])
        else:
            first, second = input1[index], input2[index]
            combined.append(_item(merge(first["json"], second["json"]),
                                  _deep_merge({}, (first.get("binary"), second.get("binary"))),
                                  [first.get("pairedItem"), second.get("pairedItem")]))
    return combined


# -- combine by fields (versions 2 and 3) ----------------------------------------------------------
def _check_match_fields(ctx, collection):
    pairs = [{"field1": pair.get("field1", ""), "field2": pair.get("field2", "")}
             for pair in collection.get("values") or []]
    if len(pairs) == 1 and pairs[0]["field1"] == "" and pairs[0]["field2"] == "":
        raise ctx.error('You need to define at least one pair of fields in "Fields to Match" to match on')
    for number, pair in enumerate(pairs, 1):
        if pair["field1"] == "" or pair["field2"] == "":
            raise ctx.error(f'You need to define both fields in "Fields to Match" for pair {number},\n'
                            f"\t\t\t\t field 1 = '{pair['field1']}'\n\t\t\t\t field 2 = '{pair['field2']}'")
    return pairs


def _check_input(ctx, items, fields, dot_notation, label):
    """Version 2.0 insists that every field to match occurs in at least one item of its input."""
    for field in fields:
        if not any(_get(item["json"], field, dot_notation) is not UNDEFINED for item in items):
            raise ctx.error(f"Field '{field}' is not present in any of items in '{label}'")


def _combine_by_fields(ctx, fields, input1, input2, prefer_last, stop):
    """Combine items whose match fields are equal. `stop` is what a run with nothing to match
    returns (version 2: an empty output, version 3: no output at all)."""
    join = ctx.get_param("joinMode", 0)
    output_from = ctx.get_param("outputDataFrom", 0)
    options = {**(ctx.get_param("options", 0) or {}), "joinMode": join, "outputDataFrom": output_from}
    if ctx.type_version < 2.1:
        dot_notation = not options.get("disableDotNotation")
        _check_input(ctx, input1, [pair["field1"] for pair in fields], dot_notation, "Input 1")
        _check_input(ctx, input2, [pair["field2"] for pair in fields], dot_notation, "Input 2")
    if not input1 or not input2:
        return _one_input_empty(join, output_from, input1, input2, stop)
    if not fields:
        return [[]] if join in ("keepMatches", "keepEverything", "enrichInput2") else [input1]
    matches = _find_matches(input1, input2, fields, options)
    clash = _clash_options(ctx)
    if join in ("keepMatches", "keepEverything"):
        return [_kept(matches, join, output_from, clash, prefer_last)]
    if join == "keepNonMatches":
        return [_non_matches(matches, output_from)]
    if join in ("enrichInput1", "enrichInput2"):
        return [_enriched(matches, join, clash, prefer_last)]
    return [[]]


def _one_input_empty(join, output_from, input1, input2, stop):
    if join == "keepNonMatches" and ((not input1 and output_from == "input1")
                                     or (not input2 and output_from == "input2")):
        return [[]]
    if join == "keepMatches" or (join == "enrichInput1" and not input1) or (join == "enrichInput2" and not input2):
        return stop
    return [input1 + input2]


def _find_matches(input1, input2, fields, options):
    """n8n's findMatches: for each item of input 1, the items of input 2 that match it."""
    equal = _fuzzy_equal if options.get("fuzzyCompare") else _is_equal
    dot_notation = not options.get("disableDotNotation")
    first_only = (options.get("multipleMatches") or "all") != "all"
    split = options.get("outputDataFrom") == "both" or options.get("joinMode") in ("enrichInput1", "enrichInput2")
    found = {"matched": [], "matched2": [], "unmatched1": [], "unmatched2": []}
    matched_in_2 = set()
    for entry in input1:
        lookup = {pair["field2"]: _get(entry["json"], pair["field1"], dot_notation) for pair in fields}
        if any(value is UNDEFINED for value in lookup.values()):
            found["unmatched1"].append(entry)
            continue
        hits = [index for index, other in enumerate(input2)
                if all(equal(value, _get(other["json"], key, dot_notation)) for key, value in lookup.items())]
        hits = hits[:1] if first_only else hits
        matched_in_2.update(hits)
        if not hits:
            found["unmatched1"].append(entry)
        elif split:
            found["matched"].extend((entry, [input2[index]]) for index in hits)
        else:
            found["matched"].append((entry, [input2[index] for index in hits]))
    for index, entry in enumerate(input2):
        found["matched2" if index in matched_in_2 else "unmatched2"].append(entry)
    return found


def _merge_matched(matched, clash, prefer_last, join=None):
    """n8n's mergeMatched: each item of input 1 merged with its matches, as clash handling says."""
    resolve = clash.get("resolveClash")
    if resolve is None:
        resolve = "preferInput1" if join == "enrichInput2" else prefer_last
    merge = _merge_method(clash)
    merged = []
    for entry, matches in matched:
        if resolve == "addSuffix":
            (entry,), matches = _suffixed([entry], "1"), _suffixed(matches, "2")
            parts = [entry, *matches]
        elif resolve == "preferInput1":
            parts = [*matches, entry]
        elif resolve == prefer_last:
            parts = [entry, *matches]
        else:
            merged.append({"json": {}, "pairedItem": []})
            continue
        merged.append(_item(merge(*(part["json"] for part in parts)),
                            merge(dict(parts[0].get("binary") or {}), *(part.get("binary") for part in parts[1:])),
                            [ref for part in parts for ref in _paired_list(part.get("pairedItem"))]))
    return merged


def _kept(matches, join, output_from, clash, prefer_last):
    if output_from == "input1":
        output = [entry for entry, _ in matches["matched"]]
    elif output_from == "input2":
        output = matches["matched2"]
    elif output_from == "both":
        output = _merge_matched(matches["matched"], clash, prefer_last)
    else:
        output = []
    if join == "keepEverything":
        unmatched1, unmatched2 = matches["unmatched1"], matches["unmatched2"]
        if clash.get("resolveClash") == "addSuffix":
            unmatched1, unmatched2 = _suffixed(unmatched1, "1"), _suffixed(unmatched2, "2")
        output = output + unmatched1 + unmatched2
    return output


def _non_matches(matches, output_from):
    if output_from == "input1":
        return matches["unmatched1"]
    if output_from == "input2":
        return matches["unmatched2"]
    if output_from == "both":
        return ([{**item, "json": {**item["json"], "_source": "input1"}} for item in matches["unmatched1"]]
                + [{**item, "json": {**item["json"], "_source": "input2"}} for item in matches["unmatched2"]])
    return []


def _enriched(matches, join, clash, prefer_last):
    merged = _merge_matched(matches["matched"], clash, prefer_last, join)
    suffix, unmatched = ("1", matches["unmatched1"]) if join == "enrichInput1" else ("2", matches["unmatched2"])
    if clash.get("resolveClash") == "addSuffix":
        unmatched = _suffixed(unmatched, suffix)
    return merged + unmatched


# -- version 3 -------------------------------------------------------------------------------------
def _execute_v3(ctx):
    inputs = [ctx.input_items(index) for index in range(ctx.node_type.input_count(ctx.node))]
    mode = ctx.raw_param("mode")
    if mode == "combine":
        mode = ctx.raw_param("combineBy")
    if mode == "append":
        return [[item for items in inputs for item in items]]
    if mode == "combineAll":
        return [_cross_join(inputs[0], inputs[1], _clash_options(ctx))]
    if mode == "combineByPosition":
        return [_v3_by_position(ctx, inputs)]
    if mode == "combineByFields":
        return _combine_by_fields(ctx, _v3_match_fields(ctx), inputs[0], inputs[1], prefer_last="preferLast",
                                  stop=[])
    if mode == "chooseBranch":
        return [_v3_choose_branch(ctx, inputs)]
    if mode == "combineBySql":
        raise ctx.error("The SQL Query mode of the Merge node is not supported in FlowForge",
                        description="Combine the inputs with another mode, or with a Code node.")
    raise ctx.error(f'The mode "{mode}" is not known')


def _v3_match_fields(ctx):
    if ctx.get_param("advanced", 0):
        return _check_match_fields(ctx, ctx.get_param("mergeByFields", 0) or {})
    names = [name.strip() for name in str(ctx.get_param("fieldsToMatchString", 0) or "").split(",")]
    return _check_match_fields(ctx, {"values": [{"field1": name, "field2": name} for name in names]})


def _v3_by_position(ctx, inputs):
    clash = _clash_options(ctx)
    include_unpaired = _option(ctx, "includeUnpaired", False)
    resolve = clash.get("resolveClash") or ""
    preferred_index = _whole(resolve.replace("preferInput", "")) - 1 if "preferInput" in resolve else len(inputs) - 1
    # n8n picks the preferred input before adding suffixes, so with "addSuffix" the last input's
    # fields also appear once more without a suffix.
    preferred = inputs[preferred_index]
    if resolve == "addSuffix":
        inputs = [_suffixed(items, str(number)) for number, items in enumerate(inputs, 1)]
    lengths = [len(items) for items in inputs] + [len(preferred)]
    count = max(lengths) if include_unpaired else min(lengths)
    merge = _merge_method(clash)
    combined = []
    for index in range(count):
        entries = [items[index] if index < len(items) else {} for items in inputs]
        favourite = preferred[index] if index < len(preferred) else {}
        combined.append(_item(
            merge({}, *(entry.get("json") or {} for entry in entries), favourite.get("json") or {}),
            _deep_merge({}, [entry.get("binary") or {} for entry in entries] + [favourite.get("binary") or {}]),
            _position_paired(entries, favourite)))
    return combined


def _position_paired(entries, favourite):
    """The lineage n8n gives a combined item: every input's pairedItem (lists flattened), then the
    preferred input's once more."""
    paired = []
    for entry in entries:
        ref = entry.get("pairedItem")
        paired.extend(ref if isinstance(ref, list) else [ref])
    paired.append(favourite.get("pairedItem"))
    return [ref for ref in paired if ref is not None]


def _v3_choose_branch(ctx, inputs):
    if ctx.get_param("chooseBranchMode", 0, "waitForAll") != "waitForAll":
        return []
    output = ctx.get_param("output", 0, "specifiedInput")
    if output == "specifiedInput":
        number = _whole(ctx.get_param("useDataOfInput", 0, 1))
        if number > len(inputs):
            raise ctx.error(f"Input {number} doesn't exist",
                            description=f"The node has only {len(inputs)} inputs, so selecting input {number} "
                                        "is not possible.")
        return list(inputs[number - 1]) if number >= 1 else []
    if output == "empty":
        return [_empty_item(inputs[0], inputs[1])]
    return []
