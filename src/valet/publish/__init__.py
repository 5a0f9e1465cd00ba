"""Publish an approved release: check, plan, then apply.

The order of checks is the security model of DESIGN.md: the event, the
approver, the body unchanged since approval, the configuration from the
protected merge target, CI on the release commit, every artifact's digest; only
then the targets. One module each:

- ``flow``: the orchestrator (``Publisher``) and its two ordered lists of checks;
- ``identity``: who publish is (its App's bot) and who opens requests;
- ``review``: the approval checks, in order, before anything of the SDK is read;
- ``origin``: who opened, wrote and requested the request, as GitHub recorded it;
- ``approval``: who approved, the body they approved, the publish App's records;
- ``timeline``: what GitHub recorded on the issue (labels, events), pure;
- ``checks``: the SDK-side checks (merge target, configuration, plan);
- ``apply``: after the checks: the CI gate, the download, the targets;
- ``plan``: which targets run, pure;
- ``execute``: preflight, status and publish of each target (github last);
- ``ticks``: ticking checkboxes, and who ticked the others;
- ``report``: label transitions (labels.py) and comments (summary.py);
- ``finish``: merge the approved commit and close the issue.
"""

from valet.publish.context import Deps, Run, Settings
from valet.publish.execute import Outcome, Result, execute, rows_for
from valet.publish.flow import Publisher
from valet.publish.plan import GITHUB, Plan, PlanItem, make_plan, require_known

__all__ = ["GITHUB", "Deps", "Outcome", "Plan", "PlanItem", "Publisher", "Result", "Run",
           "Settings", "execute", "make_plan", "require_known", "rows_for"]
