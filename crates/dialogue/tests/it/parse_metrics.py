"""Reads an OpenMetrics exposition on standard input with the Prometheus project's own Python
parser (prometheus_client, strict: types, suffixes, the final # EOF) and prints its families as
JSON: [{"name", "type", "samples": [{"name", "labels", "value"}]}]. Exit 1 with the parser's
complaint when the text does not parse."""

import json
import sys

try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
except ImportError:
    sys.stderr.write("prometheus_client is missing: python3 -m pip install prometheus_client\n")
    sys.exit(2)

text = sys.stdin.read()
try:
    families = [
        {
            "name": f.name,
            "type": f.type,
            "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples],
        }
        for f in text_string_to_metric_families(text)
    ]
except Exception as e:  # the parser's own error says what is wrong
    sys.stderr.write(f"does not parse: {e}\n")
    sys.exit(1)
json.dump(families, sys.stdout)
