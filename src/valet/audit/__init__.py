"""`valet audit`: one row per publish request, traceable to what GitHub recorded.

Who requested (the prepare run's triggering actor), who approved (the actor of
the `labeled accepted` event publish acted on), who published (the publish App's
own comments and records), and a flag for anything that cannot be verified. The
rules are the publish side's own (publish.origin, publish.approval, authz): the
audit calls them, it has none of its own.

- ``facts``: collect (the I/O edge) and verify each issue;
- ``rows``: verified facts to rows and flags (pure);
- ``render``: rows to markdown, JSON or CSV (pure).
"""

from valet.audit.facts import IssueFacts, Rules, collect, read_issue
from valet.audit.render import COLUMNS, RENDERERS, csv_cell, render_csv, render_json, render_md
from valet.audit.rows import STATES, AuditRow, Flag, TargetRow, build_row, build_rows

__all__ = ["COLUMNS", "RENDERERS", "STATES", "AuditRow", "Flag", "IssueFacts", "Rules",
           "TargetRow", "build_row", "build_rows", "collect", "csv_cell", "read_issue",
           "render_csv", "render_json", "render_md"]
