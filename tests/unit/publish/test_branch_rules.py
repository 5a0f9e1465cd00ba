"""branch_rules: trust the configuration only from reviewed-PR branches; merge directly only
where the publish App may bypass every rule that refuses a merge commit."""

from __future__ import annotations

import pytest

from valet.branch_rules import BranchRules, Rule, config_refusal, plan_merge

PR1 = Rule("pull_request", {"required_approving_review_count": 1}, 1)
PR0 = Rule("pull_request", {"required_approving_review_count": 0}, 1)
CHECKS = Rule("required_status_checks", {"required_status_checks": [{"context": "ci"}]}, 2)
NO_FORCE = Rule("non_fast_forward", {}, 3)
NO_DELETE = Rule("deletion", {}, 3)


def rules(*rs: Rule, bypass: dict[int, str] | None = None, protection=None, readable=True,
          protected=True, slug=None) -> BranchRules:
    return BranchRules("main", protected, list(rs), bypass or {}, protection, readable, slug)


@pytest.mark.parametrize("given,refusal", [
    (rules(PR1), None),
    (rules(NO_FORCE, NO_DELETE, PR1), None),
    (rules(protection={"required_pull_request_reviews": {"required_approving_review_count": 2}}),
     None),
    (rules(NO_FORCE), "(non_fast_forward) do not require a pull request"),
    (rules(NO_FORCE, NO_DELETE, CHECKS), "(deletion, non_fast_forward, required_status_checks)"),
    (rules(PR0), "no approving review"),
    (rules(protection={"required_pull_request_reviews": {"required_approving_review_count": 0}}),
     "no approving review"),
    (rules(protection={"allow_force_pushes": {"enabled": False}}), "do not require a pull request"),
    (rules(readable=False), "cannot read"),
    (rules(protected=False, readable=True), "is not protected"),
])
def test_config_trust_names_what_is_missing(given, refusal):
    got = config_refusal(given)
    if refusal is None:
        assert got is None
    else:
        assert got is not None and refusal in got


@pytest.mark.parametrize("given,mode", [
    (rules(NO_FORCE, NO_DELETE), "direct"),  # nothing refuses a merge commit
    (rules(PR1, CHECKS, bypass={1: "always", 2: "always"}), "direct"),
    (rules(PR1, bypass={1: "exempt"}), "direct"),
    (rules(PR1, CHECKS, bypass={1: "always"}), "pull_request"),  # checks ruleset: no bypass
    (rules(PR1, bypass={1: "pull_requests_only"}), "pull_request"),
    (rules(PR1), "pull_request"),
    (rules(protection={"required_pull_request_reviews": {
        "bypass_pull_request_allowances": {"apps": [{"slug": "acme-publish"}]}}},
        slug="acme-publish"), "direct"),
    (rules(protection={"required_pull_request_reviews": {
        "bypass_pull_request_allowances": {"apps": [{"slug": "someone-else"}]}}},
        slug="acme-publish"), "pull_request"),
    (rules(protection={"required_status_checks": {"contexts": ["ci"]}}), "pull_request"),
    (rules(protection={"restrictions": {"apps": [{"slug": "acme-publish"}]}},
           slug="acme-publish"), "direct"),
    (rules(protection={"lock_branch": {"enabled": True}}), "blocked"),
])
def test_merge_plan(given, mode):
    plan = plan_merge(given)
    assert plan.mode == mode
    if mode != "direct":
        assert plan.reasons and plan.fix and plan.branch in plan.note()


class _Reader:
    """branch_rules.RulesAPI as GitHub answers it: ``protection`` is what GET
    /branches/{b}/protection gives (publish_api.SdkAPI.protection_rule)."""

    def __init__(self, protection, rulesets=(), protected=True):
        self.protection = protection
        self.rulesets = list(rulesets)
        self.protected = protected
        self.asked: list[str] = []

    def branch_protected(self, branch):
        self.asked.append("branch")
        return self.protected

    def branch_rules(self, branch):
        return [{"type": "pull_request", "ruleset_id": 1,
                 "parameters": {"required_approving_review_count": 1}}] if self.rulesets else []

    def ruleset(self, rid):
        return {"id": rid, "current_user_can_bypass": "always"}

    def protection_rule(self, branch):
        self.asked.append("protection")
        return self.protection


@pytest.mark.parametrize("protection,rulesets,flag,protected,asks_branch", [
    ((True, None), [1], True, True, False),      # "Branch not protected"; a ruleset protects
    ((True, None), [], False, False, False),     # "Branch not protected", no ruleset
    ((True, {"required_pull_request_reviews": {"required_approving_review_count": 1}}), [],
     True, True, False),                         # a readable rule: it exists and protects
    ((False, None), [1], True, True, True),      # 403: the branch says whether protected
    ((False, None), [], None, None, True),       # bare 404 and no branch: none
])
def test_read_asks_the_branch_only_when_the_protection_rule_cannot_answer(
        protection, rulesets, flag, protected, asks_branch):
    from valet.branch_rules import read

    api = _Reader(protection, rulesets, flag)
    got = read(api, "main")
    assert ("branch" in api.asked) is asks_branch
    if protected is None:
        assert got is None
    else:
        assert got is not None and got.protected is protected
