"""How fast the engine pushes items through a typical workflow, and how much memory it takes.

Manual Trigger → Code (JavaScript: makes N items {i, v: i % 7, name}) → Set (two expression
fields) → If ($json.v > 3) → Set on the true branch. Each N runs in a fresh process, so peak RSS
is that run's own. Run from the project root: `.venv/bin/python bench/engine_items.py`
(`--sizes 10000,100000` to choose). The last line is one JSON object with the figures.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000, 1_000_000)


def workflow(count):
    def node(name, type_, x, parameters, version=1):
        return {"name": name, "type": f"n8n-nodes-base.{type_}", "typeVersion": version,
                "position": [x, 0], "parameters": parameters}

    def link(target):
        return {"main": [[{"node": target, "type": "main", "index": 0}]]}

    make_items = (
        f"const out = new Array({count});\n"
        f"for (let i = 0; i < {count}; i++) out[i] = {{json: {{i, v: i % 7, name: 'item ' + i}}}};\n"
        "return out;"
    )
    two_fields = {"assignments": {"assignments": [
        {"id": "1", "name": "label", "value": "={{ $json.name + '!' }}", "type": "string"},
        {"id": "2", "name": "double", "value": "={{ $json.i * 2 }}", "type": "number"},
    ]}, "includeOtherFields": True, "options": {}}
    condition = {"conditions": {"options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict"},
                                "conditions": [{"id": "c", "leftValue": "={{ $json.v }}", "rightValue": 3,
                                                "operator": {"type": "number", "operation": "gt"}}],
                                "combinator": "and"}, "options": {}}
    tag = {"assignments": {"assignments": [{"id": "3", "name": "big", "value": True, "type": "boolean"}]},
           "includeOtherFields": True, "options": {}}
    return {
        "name": f"bench {count}",
        "nodes": [node("Start", "manualTrigger", 0, {}), node("Make", "code", 200, {"jsCode": make_items}, 2),
                  node("Fields", "set", 400, two_fields, 3.4), node("Check", "if", 600, condition, 2),
                  node("Tag", "set", 800, tag, 3.4)],
        "connections": {"Start": link("Make"), "Make": link("Fields"), "Fields": link("Check"),
                        "Check": link("Tag")},
        "settings": {"executionOrder": "v1"},
    }


def child(count):
    """Run once in this process and print the figures (called in a fresh process per size)."""
    sys.path.insert(0, str(ROOT))
    from app.engine.execute import run_workflow
    from app.nodes import load_all

    load_all()
    started = time.perf_counter()
    result = run_workflow(workflow(count), mode="cli")
    wall = time.perf_counter() - started
    if result.status != "success":
        raise SystemExit(f"run failed: {result.error}")
    tagged = len(result.run_data["Tag"][0].outputs[0])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"items": count, "wall_s": round(wall, 3), "items_per_s": round(count / wall),
                      "peak_rss_mb": round(peak_mb), "true_branch": tagged}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    results = []
    for count in (int(s) for s in args.sizes.split(",")):
        print(f"running {count:,} items in a fresh process…", flush=True)
        env = {**os.environ, "INSTANCE_PATH": os.environ.get("INSTANCE_PATH", "/tmp/flowforge-bench")}
        out = subprocess.run([sys.executable, __file__, "--child", str(count)], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(out.stderr[-2000:], flush=True)
            raise SystemExit(f"the {count}-item run failed")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {figures['wall_s']} s, {figures['items_per_s']:,} items/s, peak RSS {figures['peak_rss_mb']} MB",
              flush=True)
        results.append({k: figures[k] for k in ("items", "wall_s", "items_per_s", "peak_rss_mb")})
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
