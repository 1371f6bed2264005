"""The Python Code node's runner: real child processes, no mocks."""
import json
import os

import pytest

from app.engine.errors import NodeError
from app.engine.python_runner import PythonCodeError, PythonResult, referenced_nodes, run_python
from app.engine.run_data import DataProxy, NodeRun

ALL = "runOnceForAllItems"
EACH = "runOnceForEachItem"
CONTEXT = {
    "workflow": {"id": "wf1", "name": "Orders", "active": False},
    "execution": {"id": "ex1", "mode": "manual"},
    "vars": {"region": "eu"},
    "now_ms": 1_700_000_000_000,  # 2023-11-14T22:13:20Z
    "timezone": "UTC",
    "node": "Code",
}
ITEMS = [{"json": {"name": "ada", "n": 1}}, {"json": {"name": "bob", "n": 2}}]


def run(code, mode=ALL, items=ITEMS, **options):
    options.setdefault("context", CONTEXT)
    return run_python(code, mode, items, **options)


def fails(code, mode=ALL, items=ITEMS, **options):
    with pytest.raises(NodeError) as caught:
        run(code, mode, items, **options)
    return caught.value


def jsons(result):
    return [item["json"] for item in result.items]


# -- all items -----------------------------------------------------------------------------------

def test_all_items_mutate_and_return_input_with_attribute_and_key_access():
    code = (
        "for item in _input.all():\n"
        "    item.json.double = item.json.n * 2\n"
        "    item['json']['upper'] = item['json']['name'].upper()\n"
        "return _input.all()\n"
    )
    result = run(code)
    assert isinstance(result, PythonResult)
    assert result.items == [
        {"json": {"name": "ada", "n": 1, "double": 2, "upper": "ADA"}, "pairedItem": {"item": 0}},
        {"json": {"name": "bob", "n": 2, "double": 4, "upper": "BOB"}, "pairedItem": {"item": 1}},
    ]


def test_plain_dictionaries_are_wrapped_in_json():
    assert jsons(run("return [{'a': 1}, {'a': 2}]")) == [{"a": 1}, {"a": 2}]
    assert jsons(run("return {'only': True}")) == [{"only": True}]
    assert jsons(run("return [{'json': {'a': 1}}]")) == [{"a": 1}]


def test_first_last_and_legacy_names():
    code = "return [{'first': _input.first().json.name, 'last': _input.last()['json']['name'], " \
           "'count': len(items), 'same': _items is items}]"
    assert jsons(run(code)) == [{"first": "ada", "last": "bob", "count": 2, "same": True}]


def test_workflow_execution_vars_and_run_index():
    code = "return [{'wf': _workflow.name, 'ex': _execution['id'], 'mode': _execution.mode, " \
           "'region': _vars.region, 'run': _runIndex}]"
    assert jsons(run(code)) == [{"wf": "Orders", "ex": "ex1", "mode": "manual", "region": "eu",
                                 "run": 0}]


def test_now_and_today_are_fixed_by_now_ms_in_the_workflow_time_zone():
    code = "return [{'now': _now.isoformat(), 'today': _today.isoformat(), 'tz': str(_now.tzinfo)}]"
    assert jsons(run(code)) == [{"now": "2023-11-14T22:13:20+00:00",
                                 "today": "2023-11-14T00:00:00+00:00", "tz": "UTC"}]
    tokyo = run(code, context={**CONTEXT, "timezone": "Asia/Tokyo"})
    assert jsons(tokyo) == [{"now": "2023-11-15T07:13:20+09:00",
                             "today": "2023-11-15T00:00:00+09:00", "tz": "Asia/Tokyo"}]


def test_unknown_time_zone_is_a_node_error():
    error = fails("return []", context={**CONTEXT, "timezone": "Mars/Base"})
    assert error.message == "Unknown time zone 'Mars/Base'"


def test_paired_items_follow_n8n():
    # Different counts: nothing to infer, and an explicit pairing is kept.
    three = run("return [{'json': {}}, {'json': {}}, {'json': {}, 'pairedItem': {'item': 1}}]")
    assert [item.get("pairedItem") for item in three.items] == [None, None, {"item": 1}]
    # Many inputs aggregated into one output; one input fanned out.
    assert run("return [{'total': 3}]").items[0]["pairedItem"] == {"item": 0}
    fanned = run("return [{'a': 1}, {'a': 2}]", items=[{"json": {}}])
    assert [item["pairedItem"] for item in fanned.items] == [{"item": 0}, {"item": 0}]


def test_input_pairing_to_an_earlier_node_is_not_passed_through():
    items = [{"json": {"a": 1}, "pairedItem": {"item": 5}},
             {"json": {"a": 2}, "pairedItem": {"item": 6}}]
    result = run("return _input.all()", items=items)
    assert [item["pairedItem"] for item in result.items] == [{"item": 0}, {"item": 1}]


def test_binary_is_passed_through():
    items = [{"json": {"f": 1}, "binary": {"data": {"data": "aGk=", "mimeType": "text/plain"}}}]
    result = run("return _input.all()", items=items)
    assert result.items[0]["binary"] == {"data": {"data": "aGk=", "mimeType": "text/plain"}}
    assert run("return {'json': {}, 'binary': _input.first().binary}", EACH, items).items[0][
        "binary"]["data"]["mimeType"] == "text/plain"


def test_standard_library_imports_work():
    code = (
        "import json, re, datetime, statistics, hashlib\n"
        "scores = [item.json.n for item in _input.all()]\n"
        "return [{\n"
        "    'mean': statistics.mean(scores),\n"
        "    'digits': re.findall(r'\\d', 'a1b22'),\n"
        "    'sha': hashlib.sha256(b'x').hexdigest()[:8],\n"
        "    'day': datetime.date(2024, 2, 29).isoformat(),\n"
        "    'dumped': json.dumps({'k': 1}),\n"
        "}]\n"
    )
    assert jsons(run(code)) == [{"mean": 1.5, "digits": ["1", "2", "2"], "sha": "2d711642",
                                 "day": "2024-02-29", "dumped": '{"k": 1}'}]


def test_multi_line_strings_keep_their_text():
    code = "text = '''one\n    two\n  three'''\nreturn [{'text': text}]"
    assert jsons(run(code)) == [{"text": "one\n    two\n  three"}]


# -- each item -----------------------------------------------------------------------------------

def test_each_item_mode_runs_every_item_in_one_process():
    code = "import os\nreturn {'name': _json.name, 'index': _itemIndex, 'pid': os.getpid()}"
    result = run(code, EACH)
    assert [item["pairedItem"] for item in result.items] == [{"item": 0}, {"item": 1}]
    assert [(j["name"], j["index"]) for j in jsons(result)] == [("ada", 0), ("bob", 1)]
    assert len({j["pid"] for j in jsons(result)}) == 1


def test_each_item_legacy_names_and_returning_the_item():
    code = "item.json.seen = True\n_item['json']['same'] = _input.item is item\nreturn _input.item"
    assert jsons(run(code, EACH)) == [{"name": "ada", "n": 1, "seen": True, "same": True},
                                     {"name": "bob", "n": 2, "seen": True, "same": True}]


def test_each_item_returning_none_drops_the_item():
    result = run("if _json.n > 1:\n    return {'kept': _json.name}", EACH)
    assert result.items == [{"json": {"kept": "bob"}, "pairedItem": {"item": 1}}]


def test_each_item_continue_on_fail_turns_a_failing_item_into_an_error_item():
    result = run("return {'inverse': 1 / (_json.n - 1)}", EACH, continue_on_fail=True)
    assert result.items == [
        {"json": {"error": "ZeroDivisionError: division by zero (line 1)"},
         "pairedItem": {"item": 0}},
        {"json": {"inverse": 1.0}, "pairedItem": {"item": 1}},
    ]


def test_each_item_error_names_the_item():
    error = fails("if _itemIndex == 1:\n    raise ValueError('bad item')\nreturn _json", EACH)
    assert error.message == "ValueError: bad item (line 2)"
    assert error.item_index == 1


# -- console -------------------------------------------------------------------------------------

def test_print_output_is_captured_not_mixed_into_the_result():
    code = (
        "import sys, os\n"
        "print('hello', 42)\n"
        "print('to stderr', file=sys.stderr)\n"
        "print('two\\nlines')\n"
        "os.write(1, b'7\\n{\"result\": 1}')  # fd 1 leads nowhere\n"
        "return [{'ok': True}]\n"
    )
    result = run(code)
    assert result.items == [{"json": {"ok": True}, "pairedItem": {"item": 0}}]
    assert result.console == ["hello 42", "to stderr", "two", "lines"]


def test_print_in_each_item_mode_and_console_kept_on_error():
    assert run("print(_json.name)\nreturn _json", EACH).console == ["ada", "bob"]
    error = fails("print('before')\nraise RuntimeError('after')")
    assert isinstance(error, PythonCodeError)
    assert error.console == ["before"]


def test_console_output_is_capped():
    console = run("print('x' * 3_000_000)\nreturn []").console
    assert len(console) == 2
    assert console[1].startswith("[console output truncated")


def test_input_sees_end_of_file():
    assert fails("return [{'line': input()}]").message.startswith("EOFError")


# -- user errors ---------------------------------------------------------------------------------

def test_user_exception_reports_type_message_and_user_line():
    code = "a = 1\nb = 0\nc = a / b\nreturn [{'c': c}]"
    error = fails(code)
    assert error.message == "ZeroDivisionError: division by zero (line 3)"
    assert error.node == "Code"
    assert 'File "<code>", line 3' in error.description
    assert "python_runner_child" not in error.description


def test_error_inside_a_user_function_reports_the_innermost_user_line():
    code = "import json\n\ndef parse(text):\n    return json.loads(text)\n\nparse('{')\nreturn []"
    error = fails(code)
    assert error.message.startswith("JSONDecodeError: Expecting property name")
    assert error.message.endswith("(line 4)")


def test_syntax_error_reports_its_line():
    error = fails("x = 1\nif x\n    return []")
    assert error.message.startswith("SyntaxError:")
    assert error.message.endswith("(line 2)")


def test_name_from_the_other_mode_gets_a_hint():
    assert "'Run Once for Each Item' mode" in fails("return [_json]").message
    assert "'Run Once for All Items' mode" in fails("return items[0]", EACH).message


def test_input_item_in_all_items_mode_is_the_first_item_as_in_n8n():
    assert jsons(run("return {'data': _input.item}")) == [{"data": {"json": ITEMS[0]["json"]}}]


def test_exiting_is_an_error():
    assert fails("import sys\nsys.exit(3)").message == "SystemExit: 3 (line 2)"
    assert "crashed" in fails("import os\nos._exit(0)").message


# -- what the code returns -----------------------------------------------------------------------

@pytest.mark.parametrize("code, message", [
    ("pass", "Code doesn't return items properly"),
    ("return 5", "Code doesn't return items properly"),
    ("return 'text'", "Code doesn't return items properly"),
    ("return [1, 2]", "Code doesn't return items properly"),
    ("return [{'json': 5}]", "A 'json' property isn't a dictionary"),
    ("return [{'json': {}, 'binary': 'x'}]", "A 'binary' property isn't a dictionary"),
    ("return [{'json': {}, 'extra': 1}]", "Unknown top-level item key: extra"),
    ("return [{'json': {'a': 1}}, {'b': 2}]", "Unknown top-level item key: b"),
    ("return [{'json': {'a': 1}}, {'binary': {}}]", "Inconsistent item format"),
])
def test_bad_return_shapes_all_items(code, message):
    assert fails(code).message == message


@pytest.mark.parametrize("code, message", [
    ("return [{'a': 1}]", "Code doesn't return a single dictionary"),
    ("return 5", "Code doesn't return a dictionary"),
    ("return {'json': []}", "A 'json' property isn't a dictionary"),
    ("return {'json': {}, 'extra': 1}", "Unknown top-level item key: extra"),
])
def test_bad_return_shapes_each_item(code, message):
    error = fails(code, EACH)
    assert error.message == message
    assert error.item_index == 0


@pytest.mark.parametrize("code, named", [
    ("import datetime\nreturn [{'when': datetime.datetime(2024, 1, 1)}]",
     "datetime at result[0]['when']"),
    ("return [{'tags': {'a', 'b'}}]", "set at result[0]['tags']"),
    ("return [{'raw': b'bytes'}]", "bytes at result[0]['raw']"),
    ("return [{'x': float('nan')}]", "nan at result[0]['x']"),
    ("d = {}\nd['self'] = d\nreturn [d]", "refers back to itself at result[0]['self']"),
    ("return [{(1, 2): 'tuple key'}]", "key of type tuple"),
])
def test_non_json_values_are_named(code, named):
    assert named in fails(code).message


def test_non_json_value_in_each_item_mode_names_the_item():
    error = fails("import decimal\nreturn {'price': decimal.Decimal('1.5')}", EACH)
    assert "Decimal at result['price']" in error.message
    assert error.item_index == 0


# -- isolation and limits ------------------------------------------------------------------------

def test_environment_is_built_from_scratch(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:pw@db/app")
    code = ("import os\n"
            "return [{'env': dict(os.environ), 'cwd': os.getcwd(),\n"
            "         'home': os.path.expanduser('~')}]")
    found = jsons(run(code, items=[{"json": {}}]))[0]
    assert "SECRET_KEY" not in found["env"] and "DATABASE_URL" not in found["env"]
    assert set(found["env"]) <= {"PATH", "LANG", "TZ", "HOME", "TMPDIR"}
    assert found["cwd"] == found["home"] != os.getcwd()
    assert not os.path.exists(found["cwd"])  # the temp dir is gone afterwards


def test_child_runs_in_its_own_session_with_limits():
    code = (
        "import os, resource\n"
        "return [{\n"
        "    'own_session': os.getsid(0) == os.getpid(),\n"
        "    'address_space': resource.getrlimit(resource.RLIMIT_AS),\n"
        "    'cpu': resource.getrlimit(resource.RLIMIT_CPU)[0],\n"
        "    'core': resource.getrlimit(resource.RLIMIT_CORE),\n"
        "    'files': resource.getrlimit(resource.RLIMIT_NOFILE)[0],\n"
        "}]\n"
    )
    found = jsons(run(code, items=[{"json": {}}], timeout_s=2.5, memory_mb=300))[0]
    assert found["own_session"] is True
    assert found["address_space"] == [300 * 1024 * 1024] * 2
    assert found["cpu"] == 3
    assert found["core"] == [0, 0]
    assert found["files"] <= 64


def test_runaway_loop_is_stopped():
    error = fails("while True:\n    pass", timeout_s=1)
    assert error.message == "Python code ran longer than 1 s and was stopped"


def test_sleeping_code_is_stopped_by_the_wall_clock():
    error = fails("import time\ntime.sleep(60)", EACH, timeout_s=1.5)
    assert error.message == "Python code ran longer than 1.5 s and was stopped"


def test_huge_allocation_is_stopped():
    error = fails("x = bytearray(2 * 1024 ** 3)\nreturn []")
    assert error.message == "Python code used more than 512 MB of memory and was stopped"


@pytest.mark.parametrize("grow", ["x.append(len(x))", "x.append('x' * 10000 + str(len(x)))"])
def test_growing_list_is_stopped(grow):
    error = fails(f"x = []\nwhile True:\n    {grow}", EACH, memory_mb=128)
    assert error.message == "Python code used more than 128 MB of memory and was stopped"


@pytest.mark.parametrize("code, refused", [
    ("import subprocess\nsubprocess.Popen(['sleep', '60'])", "subprocess.Popen"),
    ("import os\nos.system('true')", "os.system"),
    ("import os\nos.kill(os.getppid(), 9)", "os.kill"),
    ("import socket\nsocket.create_connection(('127.0.0.1', 6379))", "socket."),
    ("import ctypes\nctypes.CDLL(None)", "ctypes."),
    ("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (100, 100))", "resource.setrlimit"),
    ("open('/etc/hostname').read()", "'/etc/hostname'"),
    ("open('/proc/1/environ', 'rb').read()", "'/proc/1/environ'"),
    ("import os\nos.listdir('/')", "'/'"),
    ("open('/tmp/flowforge-sandbox-escape', 'w').write('x')", "/tmp/flowforge-sandbox-escape"),
])
def test_the_sandbox_refuses_what_code_may_not_do(code, refused):
    with pytest.raises(NodeError) as info:
        run(code + "\nreturn []")
    assert "PermissionError: the Python sandbox does not allow" in info.value.message
    assert refused in info.value.message


def test_secrets_next_to_the_app_are_unreadable(tmp_path):
    secret = tmp_path / "encryption_key"
    secret.write_text("planted-secret")
    with pytest.raises(NodeError, match="does not allow access"):
        run(f"return [{{'key': open({str(secret)!r}).read()}}]")


def test_the_work_directory_and_the_standard_library_stay_usable():
    code = (
        "import json, csv, io, os, zoneinfo, statistics, sqlite3\n"
        "with open('scratch.txt', 'w') as f:\n    f.write('hello')\n"
        "text = open('scratch.txt').read()\n"
        "db = sqlite3.connect(':memory:')\n"
        "zone = zoneinfo.ZoneInfo('Europe/Berlin').key\n"
        "return [{'text': text, 'files': os.listdir('.'), 'zone': zone, 'mean': statistics.mean([1, 2, 3])}]"
    )
    assert jsons(run(code)) == [{"text": "hello", "files": ["scratch.txt"], "zone": "Europe/Berlin", "mean": 2}]


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError):
        run("return []", mode="runOnce")
    with pytest.raises(ValueError):
        run("return []", memory_mb=8)


# -- other nodes' data ---------------------------------------------------------------------------

def _source(node, output=0, run=0):
    return {"previousNode": node, "previousNodeOutput": output, "previousNodeRun": run}


def _item(name, paired=None):
    item = {"json": {"name": name}}
    if paired is not None:
        item["pairedItem"] = {"item": paired}
    return item


@pytest.fixture
def chain():
    """Run data of Trigger → People (ada, bob, cy) → Route (output 0: ada; output 1: bob, cy),
    and the proxy of a Code node fed by Route's output 1. People ran twice (the last run counts)."""
    people = [_item("ada", 0), _item("bob", 0), _item("cy", 0)]
    route = NodeRun(0, [_source("People", run=1)], outputs=[
        [_item("ada", 0)], [_item("bob", 1), _item("cy", 2)]])
    run_data = {
        "Trigger": [NodeRun(0, [], outputs=[[{"json": {}}]])],
        "People": [NodeRun(0, [_source("Trigger")], outputs=[[_item("old", 0)]]),
                   NodeRun(0, [_source("Trigger")], outputs=[people])],
        "Route": [route],
    }
    proxy = DataProxy(run_data, "Code", [_source("Route", output=1)], route.outputs[1],
                      ["Trigger", "People", "Route", "Code", "Later"])
    return {"proxy": proxy, "items": route.outputs[1]}


def with_nodes(chain, code, mode=ALL, **options):
    options.setdefault("parameters", {"People": {"count": "={{ 3 }}"}})
    return jsons(run(code, mode, chain["items"], proxy=chain["proxy"], **options))


def test_node_items_come_from_its_last_run_and_the_output_that_leads_here(chain):
    code = ("return {'all': _('People').all(), 'first': _('People').first(),\n"
            "        'last': _('People').last().json.name, 'route': _('Route').all(),\n"
            "        'other_branch': _('Route').first(0), 'first_run': _('People').all(0, 0),\n"
            "        'executed': [_('People').isExecuted, _('Later').isExecuted]}")
    [found] = with_nodes(chain, code)
    assert [item["json"]["name"] for item in found["all"]] == ["ada", "bob", "cy"]
    # Items are given as stored, pairedItem included, as the JavaScript engine gives them.
    assert found["first"] == {"json": {"name": "ada"}, "pairedItem": {"item": 0}}
    assert found["last"] == "cy"
    assert [item["json"]["name"] for item in found["route"]] == ["bob", "cy"]
    assert found["other_branch"] == {"json": {"name": "ada"}, "pairedItem": {"item": 0}}
    assert found["first_run"] == [{"json": {"name": "old"}, "pairedItem": {"item": 0}}]
    assert found["executed"] == [True, False]


def test_paired_items_trace_each_input_item_back(chain):
    code = ("return {'item': _('People').item.json.name,\n"
            "        'paired': _('People').pairedItem().json.name,\n"
            "        'paired1': _('People').pairedItem(1).json.name,\n"
            "        'matching': [_('People').itemMatching(i).json.name for i in range(2)]}")
    assert with_nodes(chain, code) == [{"item": "bob", "paired": "bob", "paired1": "cy",
                                        "matching": ["bob", "cy"]}]
    each = "return {'mine': _('People').item.json.name, 'legacy': _node['People'].json.name}"
    assert with_nodes(chain, each, EACH) == [{"mine": "bob", "legacy": "ada"},
                                             {"mine": "cy", "legacy": "bob"}]


def test_params_context_legacy_accessors_and_items_function(chain):
    code = ("return {'params': _('People').params, 'context': _('People').context,\n"
            "        'no_params': _('Route').params, 'legacy': _node.People.data.name,\n"
            "        'parameter': _node['People'].parameter, 'runIndex': _node['People'].runIndex,\n"
            "        'items': [i.json.name for i in _items('People')],\n"
            "        'first_run': _items('People', 0, 0), 'input': len(_items()), 'list': len(_items)}")
    assert with_nodes(chain, code) == [{
        "params": {"count": "={{ 3 }}"}, "context": {}, "no_params": {}, "legacy": "ada",
        "parameter": {"count": "={{ 3 }}"}, "runIndex": 1, "items": ["ada", "bob", "cy"],
        "first_run": [{"json": {"name": "old"}, "pairedItem": {"item": 0}}], "input": 2,
        "list": 2}]


@pytest.mark.parametrize("code, message", [
    ("_('Nope').all()", "ExpressionError: Referenced node doesn't exist: no node called 'Nope'"),
    ("_('Later').first()", "ExpressionError: Node 'Later' hasn't been executed"),
    ("_('People').itemMatching(5)", "there is no input item 5 to trace back to 'People'"),
    ("_('People').itemMatching()", "Missing item index for .itemMatching()"),
    ("_('Route').all(2)", 'Node "Route" has no branch with index 2.'),
    ("_('People').all(0, 4)", 'Run 4 of node "People" not found'),
    ("_node['Later'].json", "ExpressionError: Node 'Later' hasn't been executed"),
    # An alias hides the name from the look-up before the run: say so rather than "doesn't exist".
    ("f = _\nf('People')", "Node 'People' was named in a way that can't be seen"),
])
def test_node_reference_errors(chain, code, message):
    error = fails(code, items=chain["items"], proxy=chain["proxy"])
    assert message in error.message


def test_an_item_without_lineage_has_no_paired_item(chain):
    chain["items"][1].pop("pairedItem")
    error = fails("return {'x': _('People').itemMatching(1)}", items=chain["items"],
                  proxy=chain["proxy"])
    assert "Paired item data for itemMatching from node 'People' is unavailable" in error.message


def test_a_computed_node_name_gets_every_node(chain):
    code = "name = 'Peo' + 'ple'\nreturn {'n': len(_(name).all()), 'r': _node[chr(82) + 'oute'].json}"
    assert with_nodes(chain, code) == [{"n": 3, "r": {"name": "bob"}}]


@pytest.mark.parametrize("code, names, computed", [
    ("_('A').all()\n_(\"B c\").item\n_node['D'].json\n_node.E.json\n_items('F', 0)",
     {"A", "B c", "D", "E", "F"}, False),
    ("x = foo_('A')\nreturn _items()", set(), False),
    ("name = 'A'\n_(name).all()", set(), True),
    ("_node[key].json", set(), True),
    ("getattr(_node, 'A')", set(), True),
])
def test_referenced_nodes_are_found_in_the_source(code, names, computed):
    assert referenced_nodes(code) == (names, computed)


def test_mode_prev_node_and_no_other_nodes_without_a_proxy():
    context = {**CONTEXT, "mode": "manual",
               "prev_node": {"name": "Route", "outputIndex": 1, "runIndex": 0}}
    code = "return {'mode': _mode, 'prev': _prevNode}"
    assert jsons(run(code, context=context)) == [
        {"mode": "manual", "prev": {"name": "Route", "outputIndex": 1, "runIndex": 0}}]
    assert "doesn't exist" in fails("return {'x': _('Route').all()}").message


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "Asia/Tokyo", "America/New_York",
                                  "Asia/Kathmandu"])
def test_now_and_today_serialise_as_the_javascript_engine_serialises_them(zone):
    from app.engine.context import ExpressionData
    from app.engine.expressions import ExpressionEngine

    items = [{"json": {}}]
    data = ExpressionData(
        node_name="Code", node_type="code", node_parameters={}, type_version=2, run_index=0,
        items=items, proxy=DataProxy({}, "Code", [], items, ["Code"]), workflow={},
        execution={"id": "1", "mode": "manual"}, prev_node=None, timezone=zone,
        now_ms=1_700_000_000_123)
    session = ExpressionEngine().session(data)
    try:
        [javascript] = session.evaluate("x", "={{ JSON.stringify({data: [$today, $now]}) }}")
    finally:
        session.close()
    context = {**CONTEXT, "timezone": zone, "now_ms": 1_700_000_000_123}
    [python] = run("return {'data': [_today, _now]}", items=items, context=context).items
    assert json.dumps(python["json"], separators=(",", ":")) == javascript


def test_dates_of_the_code_itself_stay_non_json():
    assert "datetime at result[0]['when']" in fails(
        "import datetime\nreturn [{'when': datetime.datetime.now()}]").message
    assert jsons(run("import datetime\nreturn {'tomorrow': _today + datetime.timedelta(days=1)}"))\
        == [{"tomorrow": "2023-11-15T00:00:00.000Z"}]


# -- the same answers as the JavaScript Code node -------------------------------------------------

TWIN_EXPRESSIONS = [
    ("_input.first()", "$input.first()"),
    ("_input.first().json.name", "$input.first().json.name"),
    ("_input.item", "$input['item']"),
    ("_input.last()", "$input.last()"),
    ("_input.all()", "$input.all()"),
    ("_('Start').params", "$('Start').params"),
    ("_('Start').context", "$('Start').context"),
    ("_('Start').item", "$('Start')['item']"),
    ("_('Start').first()", "$('Start').first()"),
    ("_('Start').pairedItem()", "$('Start').pairedItem()"),
    ("_('Start').itemMatching(0)", "$('Start').itemMatching(0)"),
    ("_('Start').itemMatching(2)", "$('Start').itemMatching(2)"),
    ("_('Start').first().json.name", "$('Start').first().json.name"),
    ("_('Start').last()", "$('Start').last()"),
    ("_('Start').all()", "$('Start').all()"),
    ("_('People').all()", "$('People').all()"),
    ("_node['People'].json", "$node['People'].json"),
    ("_items('People')", "$items('People')"),
    ("_mode", "$mode"),
    ("_runIndex", "$runIndex"),
    ("_today", "$today"),
    ("_prevNode", "$prevNode"),
    ("_execution.mode", "$execution.mode"),
]


def test_python_expressions_give_what_their_javascript_twins_give():
    """n8n's Code.python.json checks these pairs; here both run in one workflow:
    Trigger → People (Code, 3 items) → Start (no-op) → Python and JavaScript (Code)."""
    from app.engine.execute import run_workflow
    from app.nodes import load_all

    load_all()
    python = "return [\n" + "".join(f"    {{'data': {p}}},\n" for p, _ in TWIN_EXPRESSIONS) + "]"
    javascript = "return [\n" + "".join(f"  {{data: {j}}},\n" for _, j in TWIN_EXPRESSIONS) + "];"
    people = "return [{name: 'ada', n: 1}, {name: 'bob', n: 2}, {name: 'cy', n: 3}];"

    def code(name, y, **parameters):
        return {"name": name, "type": "n8n-nodes-base.code", "typeVersion": 2, "position": [600, y],
                "parameters": {"mode": ALL, **parameters}}

    workflow = {"name": "twins", "settings": {"timezone": "Asia/Tokyo"}, "nodes": [
        {"name": "Trigger", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
         "position": [0, 0], "parameters": {}},
        {**code("People", 0, jsCode=people), "position": [200, 0]},
        {"name": "Start", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [400, 0],
         "parameters": {}},
        code("Python", 0, language="python", pythonCode=python),
        code("JavaScript", 200, jsCode=javascript),
    ], "connections": {
        "Trigger": {"main": [[{"node": "People", "type": "main", "index": 0}]]},
        "People": {"main": [[{"node": "Start", "type": "main", "index": 0}]]},
        "Start": {"main": [[{"node": "Python", "type": "main", "index": 0},
                            {"node": "JavaScript", "type": "main", "index": 0}]]},
    }}
    result = run_workflow(workflow, now=1_700_000_000_123)
    assert result.status == "success", result.error
    [python_items] = result.run_data["Python"][0].outputs
    [javascript_items] = result.run_data["JavaScript"][0].outputs
    for (expression, _), mine, theirs in zip(TWIN_EXPRESSIONS, python_items, javascript_items):
        assert json.dumps(mine) == json.dumps(theirs), expression
    assert len(python_items) == len(javascript_items) == len(TWIN_EXPRESSIONS)
