"""`flask workflow run`: runs workflow files without the web server, optionally storing them."""
import json

from app.extensions import db
from app.models import Execution


def write(tmp_path, name, nodes, connections=None):
    path = tmp_path / name
    path.write_text(json.dumps({"name": name, "nodes": nodes, "connections": connections or {},
                                "settings": {"executionOrder": "v1"}}))
    return str(path)


def node(name, type_, **parameters):
    return {"name": name, "type": f"n8n-nodes-base.{type_}", "typeVersion": 1, "position": [0, 0],
            "parameters": parameters}


def link(target):
    return {"main": [[{"node": target, "type": "main", "index": 0}]]}


def test_json_output_per_file_and_exit_status(app, tmp_path):
    good = write(tmp_path, "good.json", [node("Start", "manualTrigger"), node("Pass", "noOp")], {"Start": link("Pass")})
    bad = write(tmp_path, "bad.json", [node("Start", "manualTrigger"), node("Fail", "stopAndError", errorMessage="boom")],
                {"Start": link("Fail")})
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = app.test_cli_runner().invoke(args=["workflow", "run", good, bad, str(broken), "--json"])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["file"] for line in lines] == [good, bad, str(broken)]
    assert lines[0]["status"] == "success" and lines[0]["lastNodeExecuted"] == "Pass"
    assert lines[0]["runData"]["Pass"][0]["data"]["main"][0][0]["json"] == {}
    assert lines[1]["status"] == "error" and lines[1]["error"]["message"] == "boom"
    assert lines[1]["error"]["node"] == "Fail"
    assert lines[2]["status"] == "error" and "not valid JSON" in lines[2]["error"]["message"]
    only_good = app.test_cli_runner().invoke(args=["workflow", "run", good, "--json"])
    assert only_good.exit_code == 0


def test_human_summary_and_start_node(app, tmp_path):
    path = write(tmp_path, "w.json", [node("Start", "manualTrigger"), node("A", "noOp"), node("B", "noOp")],
                 {"Start": link("A"), "A": link("B")})
    result = app.test_cli_runner().invoke(args=["workflow", "run", path, "--start", "A"])
    assert result.exit_code == 0, result.output
    assert f"{path}: success" in result.output
    assert "  A: success, items per output [1]" in result.output and "Start" not in result.output


def test_save_stores_an_execution(app, tmp_path):
    path = write(tmp_path, "w.json", [node("Start", "manualTrigger"), node("A", "noOp")], {"Start": link("A")})
    result = app.test_cli_runner().invoke(args=["workflow", "run", path, "--save", "--json"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        execution = db.session.query(Execution).one()
        assert (execution.mode, execution.status, execution.last_node) == ("cli", "success", "A")
        assert execution.started_at and execution.stopped_at
        assert execution.data.value["runData"]["A"][0]["executionStatus"] == "success"


def test_invalid_workflow_reports_its_problems(app, tmp_path):
    path = tmp_path / "invalid.json"
    path.write_text(json.dumps({"name": "x", "nodes": [{"name": "A"}]}))
    result = app.test_cli_runner().invoke(args=["workflow", "run", str(path), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["message"] == 'Node "A" needs a type (for example n8n-nodes-base.set).'
