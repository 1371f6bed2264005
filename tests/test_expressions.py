"""The expression engine: n8n's variables and rules, extension functions, errors, the sandbox and
batching. Real V8 contexts, real run data (NodeRun/DataProxy), no mocks."""
import gc
import time

import pytest

from app.engine.context import ExpressionData
from app.engine.errors import ExpressionError
from app.engine.expression_v8 import V8Context, pool
from app.engine.expressions import ExpressionEngine, ResolvedValues, is_expression
from app.engine.run_data import DataProxy, NodeRun

NOW_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def items_of(*jsons):
    return [{"json": dict(j)} for j in jsons]


def expression_data(items=(), *, node="Current", run_data=None, source=None, parameters=None,
                    timezone="UTC", now_ms=NOW_MS, prev_node=None, variables=None, run_index=0):
    items = list(items)
    run_data = run_data or {}
    proxy = DataProxy(run_data, node, source or [], items, [*run_data, node])
    return ExpressionData(
        node_name=node, node_type="set", node_parameters=parameters or {}, type_version=1,
        run_index=run_index, items=items, proxy=proxy,
        workflow={"id": "wf-1", "name": "My workflow", "active": True},
        execution={"id": "ex-9", "mode": "manual", "resumeUrl": None}, prev_node=prev_node,
        timezone=timezone, variables=variables or {}, now_ms=now_ms,
    )


@pytest.fixture(scope="module")
def engine():
    return ExpressionEngine()


@pytest.fixture
def evaluate(engine):
    """evaluate(value, items=..., **data) → resolved values, in a session closed afterwards."""
    sessions = []

    def run(value, items=({},), **kwargs):
        session = engine.session(expression_data(items_of(*items), **kwargs))
        sessions.append(session)
        return session.evaluate("value", value)

    yield run
    for session in sessions:
        session.close()


def only(values):
    [value] = values
    return value


# -- n8n's rules for parameter strings ---------------------------------------------------------------
def test_is_expression():
    assert is_expression("={{ 1 }}") and is_expression("=plain")
    assert not is_expression("{{ 1 }}") and not is_expression(1) and not is_expression(None)


def test_sole_expression_keeps_the_type_of_its_value(evaluate):
    assert only(evaluate("={{ 1 + 1 }}")) == 2
    assert only(evaluate("={{ 2 > 1 }}")) is True
    assert only(evaluate("={{ {a: [1, null]} }}")) == {"a": [1, None]}
    assert only(evaluate("={{ null }}")) is None
    assert only(evaluate("={{ 'x'.repeat(3) }}")) == "xxx"
    assert only(evaluate("={{    1.5   }}")) == 1.5


def test_mixed_text_is_joined_like_n8n(evaluate):
    assert only(evaluate("=n={{ 1 + 1 }}!")) == "n=2!"
    # null, undefined, NaN and "" become empty text; 0 and false are written; objects via toString.
    assert only(evaluate("=[{{ null }}|{{ undefined }}|{{ 0 }}|{{ false }}|{{ 0/0 }}]")) == "[||0|false|]"
    assert only(evaluate("=o={{ {a: 1} }} a={{ [1, 2] }}")) == "o=[object Object] a=1,2"
    # Text around a sole expression (a space, a newline) makes it text too.
    assert only(evaluate("= {{ 1 }}")) == " 1"
    assert only(evaluate("={{ 1 }}\n")) == "1\n"
    assert only(evaluate("={{ 1 }}{{ 2 }}")) == "12"


def test_equals_without_braces_is_plain_text(evaluate):
    assert only(evaluate("=just text")) == "just text"
    assert only(evaluate("=")) == ""


def test_braces_inside_strings_and_escaped_braces(evaluate):
    assert only(evaluate("={{ '}}' + 'x' }}")) == "}}x"
    assert only(evaluate("=a \\{{ b")) == "a \\{{ b"


def test_a_luxon_value_in_text_uses_its_string_form(evaluate):
    assert only(evaluate("=at {{ DateTime.fromMillis(0, {zone: 'UTC'}) }}")) == "at 1970-01-01T00:00:00.000Z"


def test_functions_are_refused_as_values(evaluate):
    values = evaluate("={{ $json.toString }}")
    with pytest.raises(ExpressionError, match="this is a function, please add"):
        values[0]


def test_trailing_semicolons_and_object_literals(evaluate):
    assert only(evaluate("={{ Math.min(1, 2); }}")) == 1
    assert only(evaluate('={{ { "data": $json.a } }}', items=[{"a": 5}])) == {"data": 5}


# -- values for every item, nested parameters --------------------------------------------------------
def test_one_value_per_item(evaluate):
    assert evaluate("={{ $json.n * 10 }}", items=[{"n": 1}, {"n": 2}, {"n": 3}]) == [10, 20, 30]


def test_one_value_even_without_items(evaluate):
    assert evaluate("={{ 7 }}", items=()) == [7]
    assert evaluate("={{ $json }}", items=()) == [{}]


def test_static_values_are_returned_for_every_item(evaluate):
    assert evaluate({"a": 1}, items=[{}, {}]) == [{"a": 1}, {"a": 1}]


def test_nested_parameters_resolve_every_expression_and_keep_the_rest(evaluate):
    raw = {
        "assignments": [
            {"id": "1", "name": "a", "value": "={{ $json.n + 1 }}", "type": "number"},
            {"id": "2", "name": "b", "value": "static", "type": "string"},
            {"id": "3", "name": "c", "value": "=x{{ $json.n }}", "type": "string"},
        ],
        "options": {"flag": True, "deep": ["={{ $itemIndex }}", 5]},
    }
    first, second = evaluate(raw, items=[{"n": 1}, {"n": 2}])
    assert first == {
        "assignments": [
            {"id": "1", "name": "a", "value": 2, "type": "number"},
            {"id": "2", "name": "b", "value": "static", "type": "string"},
            {"id": "3", "name": "c", "value": "x1", "type": "string"},
        ],
        "options": {"flag": True, "deep": [0, 5]},
    }
    assert second["assignments"][0]["value"] == 3 and second["options"]["deep"] == [1, 5]
    assert list(first["assignments"][0]) == ["id", "name", "value", "type"]  # key order kept
    assert raw["assignments"][0]["value"] == "={{ $json.n + 1 }}"  # the parameter is untouched


def test_very_large_batches_build_each_copy_when_read(evaluate, monkeypatch):
    import app.engine.expressions as expressions

    raw = {"assignments": [{"name": "a", "value": "={{ $json.n * 10 }}"}, {"name": "b", "value": "keep"}],
           "when": "={{ $itemIndex }}"}
    items = [{"n": n} for n in range(5)]
    eager = evaluate(raw, items=items)
    monkeypatch.setattr(expressions, "LAZY_COPIES_ABOVE", 3)
    lazy = evaluate(raw, items=items)
    assert isinstance(lazy, expressions.LazyResolvedValues) and not isinstance(lazy, list)
    assert len(lazy) == 5 and list(lazy) == eager and lazy[-1] == eager[4] and lazy[1:3] == eager[1:3]
    assert lazy[2] is not lazy[2], "each read builds a fresh copy"
    with pytest.raises(IndexError):
        lazy[5]
    failing = evaluate({"v": "={{ $json.n.x.y }}"}, items=items)
    with pytest.raises(ExpressionError):
        failing[0]


# -- variables ---------------------------------------------------------------------------------------
def test_json_binary_and_item_index(evaluate):
    items = [{"json": {"a": 1}, "binary": {"file": {"data": "QUJD", "mimeType": "text/plain"}}}, {"json": {"a": 2}}]
    session = ExpressionEngine().session(expression_data(items))
    try:
        assert session.evaluate("p", "={{ $json.a }}") == [1, 2]
        assert session.evaluate("p", "={{ $binary.file ? $binary.file.mimeType : 'none' }}") == ["text/plain", "none"]
        assert session.evaluate("p", "={{ $itemIndex }}-{{ $position }}") == ["0-0", "1-1"]
    finally:
        session.close()


def test_input(evaluate):
    items = [{"n": 1}, {"n": 2}, {"n": 3}]
    assert evaluate("={{ $input.item.json.n }}", items=items) == [1, 2, 3]
    assert evaluate("={{ $input.all().length }}", items=items) == [3, 3, 3]
    assert evaluate("={{ $input.first().json.n + $input.last().json.n }}", items=items) == [4, 4, 4]
    assert evaluate("={{ $items().length }}", items=items) == [3, 3, 3]


def chain():
    """Trigger → A → Current. A swapped the order of the trigger's items, pairing each item back."""
    trigger = [{"json": {"name": "first"}}, {"json": {"name": "second"}}]
    a_out = [{"json": {"v": 2}, "pairedItem": {"item": 1}}, {"json": {"v": 1}, "pairedItem": {"item": 0}}]
    run_data = {
        "Trigger": [NodeRun(start_time=0, source=[], outputs=[trigger])],
        "A": [NodeRun(start_time=0, source=[{"previousNode": "Trigger", "previousNodeOutput": 0,
                                             "previousNodeRun": 0}], outputs=[a_out])],
    }
    current = [{"json": {"w": 20}, "pairedItem": {"item": 0}}, {"json": {"w": 10}, "pairedItem": {"item": 1}}]
    source = [{"previousNode": "A", "previousNodeOutput": 0, "previousNodeRun": 0}]
    return run_data, source, current


@pytest.fixture
def chained(engine):
    run_data, source, current = chain()
    session = engine.session(expression_data(
        current, run_data=run_data, source=source, prev_node={"name": "A", "outputIndex": 0, "runIndex": 0}))
    yield session
    session.close()


def test_dollar_node_item_follows_paired_items_through_two_nodes(chained):
    assert chained.evaluate("p", "={{ $('Trigger').item.json.name }}") == ["second", "first"]
    assert chained.evaluate("p", "={{ $('A').item.json.v }}") == [2, 1]
    assert chained.evaluate("p", "={{ $('Trigger').itemMatching(1).json.name }}") == ["first", "first"]


def test_dollar_node_first_last_all_and_is_executed(chained):
    assert chained.evaluate("p", "={{ $('Trigger').first().json.name }}") == ["first", "first"]
    assert chained.evaluate("p", "={{ $('Trigger').last().json.name }}") == ["second", "second"]
    assert chained.evaluate("p", "={{ $('Trigger').all().map(i => i.json.name).join() }}") == ["first,second"] * 2
    assert chained.evaluate("p", "={{ $('A').isExecuted }}") == [True, True]


def test_legacy_node_and_items_read_by_position(chained):
    # $node["X"] reads item number $itemIndex of X, without following paired items.
    assert chained.evaluate("p", "={{ $node['Trigger'].json.name }}") == ["first", "second"]
    assert chained.evaluate("p", "={{ $node.A.json.v }}") == [2, 1]
    assert chained.evaluate("p", "={{ $items('Trigger').length }}") == [2, 2]
    with pytest.raises(ExpressionError, match='Run 3 of node "Trigger" not found'):
        chained.evaluate("p", "={{ $items('Trigger', 0, 3) }}")[0]


def test_node_names_computed_at_run_time_are_loaded_on_demand(chained):
    assert chained.evaluate("p", "={{ $(['Trig', 'ger'].join('')).first().json.name }}") == ["first", "first"]


def test_unknown_and_unexecuted_nodes(chained):
    with pytest.raises(ExpressionError, match="Referenced node doesn't exist"):
        chained.evaluate("p", "={{ $('Nope').item }}")[0]


def test_prev_node_workflow_execution_vars_run_index(engine):
    data = expression_data(items_of({}), prev_node={"name": "A", "outputIndex": 1, "runIndex": 0},
                           variables={"region": "eu"}, run_index=2)
    session = engine.session(data)
    try:
        assert session.evaluate("p", "={{ $prevNode.name }}/{{ $prevNode.outputIndex }}") == ["A/1"]
        assert session.evaluate("p", "={{ [$workflow.id, $workflow.name, $workflow.active] }}") == [
            ["wf-1", "My workflow", True]]
        assert session.evaluate("p", "={{ $execution.id }} {{ $execution.mode }}") == ["ex-9 test"]
        assert session.evaluate("p", "={{ $vars.region }}") == ["eu"]
        assert session.evaluate("p", "={{ $runIndex }}") == [2]
    finally:
        session.close()


def test_parameter_is_the_node_parameters(evaluate):
    assert only(evaluate("={{ $parameter.limit }}", parameters={"limit": 5})) == 5


def test_now_and_today_use_the_fixed_clock_and_the_timezone(evaluate):
    assert only(evaluate("={{ $now.toISO() }}", timezone="America/New_York")) == "2023-11-14T17:13:20.000-05:00"
    assert only(evaluate("={{ $today.toISO() }}", timezone="America/New_York")) == "2023-11-14T00:00:00.000-05:00"
    assert only(evaluate("={{ $today.toISO() }}", timezone="Asia/Tokyo")) == "2023-11-15T00:00:00.000+09:00"
    assert only(evaluate("={{ DateTime.now().toMillis() }}")) == NOW_MS
    assert only(evaluate("={{ $now }}")) == "2023-11-14T22:13:20.000Z"


def test_luxon_classes(evaluate):
    assert only(evaluate("={{ DateTime.fromISO('2024-02-28').plus({days: 2}).toISODate() }}")) == "2024-03-01"
    assert only(evaluate("={{ Duration.fromObject({hours: 2}).as('minutes') }}")) == 120
    assert only(evaluate("={{ Interval.after(DateTime.fromISO('2024-01-01'), {days: 3}).length('days') }}")) == 3


def test_jmespath(evaluate):
    data = {"people": [{"name": "a", "age": 30}, {"name": "b", "age": 50}]}
    assert only(evaluate("={{ $jmespath($json, 'people[?age > `40`].name') }}", items=[data])) == ["b"]
    with pytest.raises(ExpressionError, match="expected two arguments"):
        evaluate("={{ $jmespath('x') }}")[0]


def test_env_is_denied(evaluate):
    with pytest.raises(ExpressionError, match="access to env vars denied"):
        evaluate("={{ $env.HOME }}")[0]


def test_convenience_functions(evaluate):
    assert only(evaluate("={{ $if(2 > 1, 'yes', 'no') }}")) == "yes"
    assert only(evaluate("={{ $ifEmpty([], 'default') }}")) == "default"
    assert only(evaluate("={{ [$min(3, 1), $max(3, 1), $average(1, 2, 3), $not(0)] }}")) == [1, 3, 2, True]


# -- extension functions -----------------------------------------------------------------------------
@pytest.mark.parametrize("expression, expected", [
    ("' hello '.isEmpty()", False),
    ("''.isNotEmpty()", False),
    ("'12.5'.toNumber()", 12.5),
    ("'$1,000'.toInt()", 1),
    ("'yes'.toBoolean()", True),
    ("'quick brown fox of the town'.toTitleCase()", "Quick Brown Fox of the Town"),
    ("'hello there. how are you?'.toSentenceCase()", "Hello there. How are you?"),
    ("'Hello World-now'.toSnakeCase()", "hello_world_now"),
    ("'mail me at a@b.com please'.extractEmail()", "a@b.com"),
    ("'https://www.example.com/path?q=1'.extractDomain()", "www.example.com"),
    ("'see https://n8n.io/x now'.extractUrl()", "https://n8n.io/x"),
    ("'a@b.com'.isEmail()", True),
    ("'https://n8n.io'.isUrl()", True),
    ("'12a'.isNumeric()", False),
    ("'<b>bold</b>'.removeTags()", "bold"),
    ("'a b&c'.urlEncode()", "a%20b%26c"),
    ("'a%20b'.urlDecode()", "a b"),
    ("'hello'.hash('sha256')", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
    ("'hello'.hash()", "5d41402abc4b2a76b9719d911017c592"),
    ("'say \"hi\"'.quote()", '"say \\"hi\\""'),
    ("'Ærø café'.replaceSpecialChars()", "AEro cafe"),
    ("'abc'.length()", 3),
    ("'2024-03-05'.toDateTime().toISODate()", "2024-03-05"),
    ("[1, 2, 3].sum()", 6),
    ("[3, 1, 2].min() + [3, 1, 2].max()", 4),
    ("[1, 2, 3, 4].average()", 2.5),
    ("[1, 2].first() + [1, 2].last()", 3),
    ("[1, 1, 2, {a: 1}, {a: 1}].unique()", [1, 2, {"a": 1}]),
    ("[1, null, '', 2].compact()", [1, 2]),
    ("[1, 2, 3, 4, 5].chunk(2)", [[1, 2], [3, 4], [5]]),
    ("[].isEmpty()", True),
    ("[{a: 1, b: 2}, {a: 3}].pluck('a')", [1, 3]),
    ("[1, 2].difference([2])", [1]),
    ("[1, 2].intersection([2, 3])", [2]),
    ("[1, 2].union([2, 3])", [1, 2, 3]),
    ("[{name: 'k', value: 'v'}].smartJoin('name', 'value')", {"k": "v"}),
    ("[{a: 1}, {b: 2}].merge()", {"a": 1, "b": 2}),
    ("[{a: 1}].renameKeys('a', 'z')", [{"z": 1}]),
    ("(1.256).round(2)", 1.26),
    ("(1.5).floor() + (1.2).ceil()", 3),
    ("(1234.5).format('de-DE')", "1.234,5"),
    ("(4).isEven() && (3).isOdd()", True),
    ("(0).toBoolean()", False),
    ("(86400).toDateTime('s').toUTC().toISO()", "1970-01-02T00:00:00.000Z"),
    ("({a: 1, b: null}).compact()", {"a": 1}),
    ("({a: 1}).keys()", ["a"]),
    ("({a: 1}).values()", [1]),
    ("({a: 1}).hasField('a')", True),
    ("({a: 1, b: 2}).removeField('a')", {"b": 2}),
    ("({a: 1}).isNotEmpty()", True),
    ("({a: 1}).merge({a: 2, b: 3})", {"a": 1, "b": 3}),
    ("({a: 1}).toJsonString()", '{"a":1}'),
    ("({q: 'a b', n: 1}).urlEncode()", "q=a+b&n=1"),
    ("DateTime.fromISO('2024-03-05T10:00:00Z').format('yyyy LLL dd')", "2024 Mar 05"),
    ("DateTime.fromISO('2024-03-05T10:00:00Z').plus(2, 'days').toISODate()", "2024-03-07"),
    ("DateTime.fromISO('2024-03-05T10:00:00Z').minus(1, 'month').toISODate()", "2024-02-05"),
    ("DateTime.fromISO('2024-03-15T10:00:00Z').beginningOf('month').toISODate()", "2024-03-01"),
    ("DateTime.fromISO('2024-02-15T10:00:00Z').endOfMonth().day", 29),
    ("DateTime.fromISO('2024-03-05').isBetween('2024-01-01', '2024-12-31')", True),
    ("DateTime.fromISO('2024-03-05').extract('month')", 3),
    ("new Date('2024-03-05T00:00:00Z').toDateTime().toUTC().year", 2024),
    ("$json.missing.isEmpty()", True),
    ("$json.missing?.toTitleCase()", None),
    ("true.toInt()", 1),
])
def test_extension_functions(evaluate, expression, expected):
    assert only(evaluate("={{ " + expression + " }}")) == expected


def test_extension_errors_say_which_types_have_the_function(evaluate):
    with pytest.raises(ExpressionError, match='sum\\(\\) is only callable on type "Array"'):
        evaluate("={{ 'abc'.sum() }}")[0]
    with pytest.raises(ExpressionError, match="toTitleCase can't be used on undefined value"):
        evaluate("={{ $json.nothing.toTitleCase() }}")[0]


def test_native_methods_are_not_extended(evaluate):
    assert only(evaluate("={{ 'a,b'.split(',').length }}")) == 2
    assert only(evaluate("={{ 'a.sum()' }}")) == "a.sum()"


# -- errors ------------------------------------------------------------------------------------------
def test_errors_name_node_parameter_item_and_expression(engine):
    session = engine.session(expression_data(items_of({"x": {"y": 1}}, {}), node="Edit"))
    try:
        values = session.evaluate("field", "={{ $json.x.y }}")
        assert isinstance(values, ResolvedValues)
        assert values[0] == 1  # the item that worked is still readable
        with pytest.raises(ExpressionError) as caught:
            values[1]
    finally:
        session.close()
    error = caught.value
    assert error.reason == "Cannot read properties of undefined (reading 'y')"
    assert (error.node, error.parameter, error.item_index, error.expression) == ("Edit", "field", 1, "={{ $json.x.y }}")
    assert 'node "Edit"' in str(error) and 'parameter "field"' in str(error) and "item 1" in str(error)
    assert "$json.x.y" in str(error)


def test_syntax_errors_and_unknown_names(evaluate):
    with pytest.raises(ExpressionError, match="invalid syntax"):
        evaluate("={{ 1 + }}")[0]
    with pytest.raises(ExpressionError, match="nope is not defined"):
        evaluate("={{ nope }}")[0]


def test_values_that_cannot_be_json_fail_for_their_item(evaluate):
    with pytest.raises(ExpressionError, match="BigInt"):
        evaluate("={{ 10n }}")[0]
    with pytest.raises(ExpressionError, match="circular"):
        evaluate("={{ (() => { const a = {}; a.a = a; return a })() }}")[0]


# -- the sandbox -------------------------------------------------------------------------------------
@pytest.mark.parametrize("expression, refusal", [
    ("this.constructor.constructor('return process')()", "invalid constructor"),
    ("(() => {}).constructor('return process')()", "invalid constructor"),
    ("Object['constr' + 'uctor']['constr' + 'uctor']('return 1')()", "Code generation from strings"),
    ("Function('return this')()", "Code generation from strings"),
    ("eval('1 + 1')", "Code generation from strings"),
    ("require('fs')", "require is not defined"),
    ("setTimeout(() => 1, 0)", "setTimeout is not a function"),
    ("WebAssembly", "WebAssembly is not defined"),
])
def test_escapes_are_refused(evaluate, expression, refusal):
    with pytest.raises(ExpressionError, match=refusal):
        evaluate("={{ " + expression + " }}")[0]


def test_no_host_objects(evaluate):
    assert only(evaluate("={{ typeof globalThis.process }}")) == "undefined"
    assert only(evaluate("={{ typeof this }}")) == "undefined"


def test_dynamic_import_fails(evaluate):
    # import() returns a promise that rejects: there is no module loader.
    assert only(evaluate("={{ typeof import('fs').then }}")) == "function"


def test_infinite_loop_is_stopped_and_the_next_session_works():
    engine = ExpressionEngine(time_limit_s=0.5)
    session = engine.session(expression_data(items_of({})))
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="timed out after 0.5 s"):
        session.evaluate("loop", "={{ (() => { while (true) {} })() }}")
    assert time.monotonic() - started < 5
    session.close()
    other = engine.session(expression_data(items_of({"a": 1})))
    try:
        assert other.evaluate("p", "={{ $json.a }}") == [1]
    finally:
        other.close()


@pytest.mark.parametrize("expression", ["'x'.repeat(2**29)", "new Array(1e9).fill(0)", "Array.from({length: 1e9})"])
def test_huge_allocations_are_refused(evaluate, expression):
    with pytest.raises(ExpressionError, match="length"):
        evaluate("={{ " + expression + " }}")[0]


def test_running_out_of_memory_is_an_error_and_the_isolate_is_replaced():
    engine = ExpressionEngine(memory_limit_mb=24)
    session = engine.session(expression_data(items_of({})))
    with pytest.raises(ExpressionError, match="24 MB memory limit"):
        session.evaluate("p", "={{ (() => { const a = []; while (true) a.push({x: a.length}); })() }}")
    session.close()
    other = engine.session(expression_data(items_of({})))
    try:
        assert other.evaluate("p", "={{ 1 + 1 }}") == [2]
    finally:
        other.close()


def test_a_runaway_promise_callback_cannot_outlive_the_session():
    engine = ExpressionEngine()
    session = engine.session(expression_data(items_of({})))
    session.evaluate("p", "={{ Promise.resolve().then(() => { while (true) {} }) && 1 }}")
    started = time.monotonic()
    session.close()  # the isolate is stuck in the callback: it is terminated, not returned to the pool
    assert time.monotonic() - started < 10
    other = engine.session(expression_data(items_of({})))
    try:
        assert other.evaluate("p", "={{ 2 }}") == [2]
    finally:
        other.close()


def test_nothing_leaks_from_one_session_into_the_next(engine):
    first = engine.session(expression_data(items_of({"secret": "s3cr3t"})))
    first.evaluate("p", "={{ (() => { globalThis.leak = $json.secret; return 1 })() }}")
    assert first.evaluate("p", "={{ leak }}") == ["s3cr3t"]  # visible within its own session
    polluted = first.evaluate("p", "={{ Array.prototype.evil = 1 }}")
    with pytest.raises(ExpressionError, match="not extensible"):
        polluted[0]
    polluted = first.evaluate("p", "={{ Object.prototype.polluted = 1 }}")
    with pytest.raises(ExpressionError, match="not extensible"):
        polluted[0]
    with pytest.raises(ExpressionError, match="read only"):
        first.evaluate("p", "={{ JSON.stringify = () => 'owned' }}")[0]
    first.evaluate("p", "={{ /secret-(\\w+)/.test('secret-abc') }}")
    context = first._context
    first.close()

    second = engine.session(expression_data(items_of({})))
    try:
        assert second.evaluate("p", "={{ typeof leak }}") == ["undefined"]
        assert second.evaluate("p", "={{ [[].evil, ({}).polluted] }}") == [[None, None]]
        assert second.evaluate("p", "={{ JSON.stringify({a: 1}) }}") == ['{"a":1}']
        assert second.evaluate("p", "={{ typeof RegExp.$1 }}") == ["undefined"]
        assert second._context is context  # the same isolate, reused from the pool
    finally:
        second.close()


def test_assigning_common_properties_on_own_objects_still_works(evaluate):
    # Frozen built-ins must not break assignments that shadow them on ordinary objects.
    assert only(evaluate("={{ (() => { const o = {}; o.toString = () => 'me'; return `${o}` })() }}")) == "me"
    assert only(evaluate("={{ (() => { const e = new Error('x'); e.name = 'Custom'; return e.name })() }}")) == "Custom"


# -- batching ----------------------------------------------------------------------------------------
def test_one_v8_call_per_evaluate_and_items_sent_once(engine, monkeypatch):
    sent = []
    real_call = V8Context.call

    def recording_call(self, request, timeout):
        sent.append(request)
        return real_call(self, request, timeout)

    monkeypatch.setattr(V8Context, "call", recording_call)
    items = items_of(*({"n": i, "name": f"n{i}"} for i in range(500)))
    session = engine.session(expression_data(items))
    try:
        raw = {"a": "={{ $json.n }}", "b": ["={{ $json.name }}", "={{ $json.n * 2 }}"], "c": "=static"}
        values = session.evaluate("p", raw)
        assert session.v8_calls == 1
        assert values[499] == {"a": 499, "b": ["n499", 998], "c": "static"}
        assert session.evaluate("q", "={{ $json.n + 1 }}")[10] == 11
        assert session.v8_calls == 2
        assert session.evaluate("r", "={{ $json.name }}") == [f"n{i}" for i in range(500)]
        assert session.v8_calls == 3
        assert session.evaluate("s", "=no expression inside") == ["no expression inside"] * 500
        assert session.v8_calls == 3
    finally:
        session.close()
    # Only the first request carried the item data (as the fields the expressions read).
    assert [len(r) > 5000 for r in sent[:3]] == [True, False, False]


def test_only_the_fields_read_are_sent_but_whole_items_when_needed(engine):
    session = engine.session(expression_data(items_of({"a": 1, "b": 2}, {"b": 3})))
    try:
        assert session.evaluate("p", "={{ $json.a }}") == [1, None]
        assert session.evaluate("p", "={{ $json.a === undefined }}") == [False, True]
        assert session.evaluate("p", "={{ Object.keys($json).join() }}") == ["a,b", "b"]
    finally:
        session.close()


def test_garbage_collection_is_enabled_again(evaluate):
    evaluate("={{ 1 }}")
    assert gc.isenabled()


def test_contexts_are_created_lazily():
    assert ExpressionEngine().session(expression_data(items_of({})))._context is None
    assert pool._pid is not None


def test_sessions_in_parallel_threads(engine):
    from concurrent.futures import ThreadPoolExecutor

    def work(n):
        session = engine.session(expression_data(items_of(*({"n": n * 1000 + i} for i in range(50)))))
        try:
            return session.evaluate("p", "={{ $json.n * 2 }}")
        finally:
            session.close()

    with ThreadPoolExecutor(max_workers=4) as executor:
        results = list(executor.map(work, range(8)))
    assert results == [[(n * 1000 + i) * 2 for i in range(50)] for n in range(8)]


def test_other_nodes_parameters_and_context(engine):
    """$('X').params and $node["X"].context read what the run provides alongside ExpressionData."""
    from types import SimpleNamespace

    run_data, source, current = chain()
    data = expression_data(current, run_data=run_data, source=source,
                           prev_node={"name": "A", "outputIndex": 0, "runIndex": 0})
    data.nodes = {"Trigger": SimpleNamespace(parameters={"limit": 3}), "A": SimpleNamespace(parameters={"x": 1})}
    data.node_states = {"A": {"noItemsLeft": True}}
    session = engine.session(data)
    try:
        assert session.evaluate("p", "={{ $('Trigger').params.limit }}") == [3, 3]
        assert session.evaluate("p", "={{ $node['Trigger'].parameter.limit }}") == [3, 3]
        assert session.evaluate("p", "={{ $node['A'].context['noItemsLeft'] }}") == [True, True]
        assert session.evaluate("p", "={{ [$input.params.x, $input.context.noItemsLeft] }}") == [[1, True]] * 2
        assert session.evaluate("p", "={{ $('Trigger').context }}") == [{}, {}]
    finally:
        session.close()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork()")
def test_a_forked_child_gets_its_own_contexts(engine):
    """RQ forks a work horse per job; a context made before the fork hangs in the child, so the
    child must make its own (and never touch the parent's)."""
    import os

    session = engine.session(expression_data(items_of({"a": 1})))
    assert session.evaluate("p", "={{ $json.a }}") == [1]
    session.close()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        child = engine.session(expression_data(items_of({"a": 2})))
        ok = child.evaluate("p", "={{ $json.a * 10 }}") == [20]
        child.close()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    again = engine.session(expression_data(items_of({"a": 3})))
    try:
        assert again.evaluate("p", "={{ $json.a }}") == [3]
    finally:
        again.close()
