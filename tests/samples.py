"""Sample parameters of the named queries, shared by the tests that run every one of them, and
what their answers leave in no set order (the parts of a GROUP_CONCAT)."""

import ast
import re

#: Parameters for every named query: each query is run remotely with all of them, and (when some
#: are optional) with only the required ones. A query missing here, or a declared parameter
#: without a sample, fails test_named_query_matches_local: add a sample for new queries.
SAMPLES: dict[str, dict[str, str]] = {
    "actors": {"name": "korea"},
    "corroboration": {"subject": "dmz-remains-talks", "min_outlets": "2"},
    "disputes": {"by": "Pompeo"},
    "figures": {"measure": "us-unaccounted-korean-war"},
    "meetings": {"actor": "North Korea", "status": "absent"},
    "met": {"actor": "Pompeo"},
    "noshows": {"meeting": "dmz-remains-talks"},
    "offices": {"holder": "Pompeo"},
    "pledge_status": {"date": "2018-08-01", "pledge": "singapore-repatriation-pledge"},
    "pledges": {"actor": "North Korea", "pledge": "dmz-meeting-arrangement"},
    "statements": {"speaker": "Pompeo", "about": "North Korea"},
    "timeline": {"actor": "Pompeo", "topic": "remains-repatriation"},
    "view_actors": {}, "view_claims": {}, "view_dates": {}, "view_disputes": {},
    "view_meetings": {}, "view_memberships": {}, "view_participations": {}, "view_pledges": {},
    "view_relations": {}, "view_statements": {},
}


_GROUP_CONCAT = re.compile(
    r"GROUP_CONCAT\s*\(\s*(?:DISTINCT\s+)?(?:[^;()]|\((?:[^()]|\([^()]*\))*\))*?"
    r"(?:;\s*SEPARATOR\s*=\s*(?P<sep>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'))?"
    r"\s*\)\s*AS\s+[?$](?P<var>\w+)", re.I)


def concat_fields(text: str) -> dict[str, str]:
    """The variables a query binds with GROUP_CONCAT, with their separators."""
    return {m.group("var"): ast.literal_eval(m.group("sep")) if m.group("sep") else " "
            for m in _GROUP_CONCAT.finditer(text)}
