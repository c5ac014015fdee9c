"""Loads the benchmark fixture into a running Bunting: one flag shaped like the engine benchmark's
(3 segments x 3 constraints including a regex and an IN list, two variants split 50/50, enabled),
duplicated until there are N flags. Duplication is one request per flag, so 10,000 flags load in
seconds; every copy evaluates like the original.

Usage: python3 bench/fixture.py http://127.0.0.1:18000 1000
"""
import json
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + "/api/v1" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def template(base):
    flag = call(base, "POST", "/flags", {"description": "benchmark flag", "key": "flag-1"})
    flag_id = flag["id"]
    control = call(base, "POST", f"/flags/{flag_id}/variants", {"key": "control", "attachment": {"color": "grey"}})
    treatment = call(base, "POST", f"/flags/{flag_id}/variants",
                     {"key": "treatment", "attachment": {"color": "blue", "size": "large"}})
    segments = [
        ("internal", [("email", "EREG", '".+@company\\.com"'), ("plan", "EQ", '"enterprise"'), ("age", "GTE", "18")]),
        ("beta", [("state", "IN", '["NY","NJ","CT"]'), ("beta", "EQ", "true"), ("age", "LT", "65")]),
        ("california", [("state", "EQ", '"CA"'), ("country", "IN", '["US","CA"]'), ("device", "NEQ", '"bot"')]),
    ]
    for description, constraints in segments:
        segment = call(base, "POST", f"/flags/{flag_id}/segments", {"description": description, "rolloutPercent": 100})
        for prop, operator, value in constraints:
            call(base, "POST", f"/flags/{flag_id}/segments/{segment['id']}/constraints",
                 {"property": prop, "operator": operator, "value": value})
        call(base, "PUT", f"/flags/{flag_id}/segments/{segment['id']}/distributions", {"distributions": [
            {"variantID": control["id"], "variantKey": "control", "percent": 50},
            {"variantID": treatment["id"], "variantKey": "treatment", "percent": 50},
        ]})
    call(base, "POST", f"/flags/{flag_id}/tags", {"value": "benchmark"})
    call(base, "PUT", f"/flags/{flag_id}/enabled", {"enabled": True})
    return flag_id


def main():
    base, count = sys.argv[1], int(sys.argv[2])
    flag_id = template(base)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: call(base, "POST", f"/flags/{flag_id}/duplicate", {"key": f"flag-{n}"}),
                      range(2, count + 1)))
    print(f"{count} flags loaded", flush=True)


if __name__ == "__main__":
    main()
