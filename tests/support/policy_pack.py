"""The policy pack run as the engine runs it, without the CLI: resources shaped as the engine hands them to an
analyzer (`PolicyResource` with options and dependencies), each policy's `validate` called with a report that
collects its messages. Once the end-to-end suite runs the pack through the real CLI's `--policy-pack`
(tests/e2e), that is the check of this harness."""

from __future__ import annotations

import copy
from typing import Any

from kserve_triton_policies import POLICIES
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from kserve_triton.offline import OfflineRun, unwrap_secret
from tests.support.stacks import ROOT, deployable_config

BY_NAME = {p.name: p for p in POLICIES}


def _options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def resource(type_: str, props: dict[str, Any], name: str = "r", protect: bool = False) -> PolicyResource:
    return PolicyResource(
        type_, props, f"urn:pulumi:s::p::{type_}::{name}", name, _options(protect), None, None, [], {}
    )


def violations(policy_name: str, resources: list[PolicyResource], config: dict | None = None) -> list[str]:
    policy = BY_NAME[policy_name]
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    if isinstance(policy, ResourceValidationPolicy):
        for r in resources:
            args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None, config or {})
            policy.validate(args, report)
    else:
        policy.validate(StackValidationArgs(resources, config or {}), report)
    return found


def program_resources(stack: str, mutate=None) -> list[PolicyResource]:
    """What the program registers for a stack, as the engine hands resources to an analyzer."""
    config = copy.deepcopy(deployable_config(ROOT / f"Pulumi.{stack}.yaml"))
    if mutate:
        mutate(config)
    run = OfflineRun(stack)
    run.configure(config)
    run.run_main(reuse=True)
    return monitor_resources(run.monitor)


def monitor_resources(monitor) -> list[PolicyResource]:
    """Every resource a run registered, as the engine hands resources to an analyzer."""
    nodes = [n for n in monitor.nodes.values() if n.custom and not n.type.startswith("pulumi:providers:")]
    made = {
        n.urn: PolicyResource(
            n.type,
            unwrap_secret(n.inputs),
            n.urn,
            n.name,
            PolicyResourceOptions(
                bool(n.protect),
                n.ignore_changes,
                n.delete_before_replace,
                n.aliases,
                PolicyCustomTimeouts(0, 0, 0),
                [],
                n.parent or None,
            ),
            None,
            None,
            [],
            {},
        )
        for n in nodes
    }
    for node in nodes:
        made[node.urn].dependencies = [made[u] for u in node.dependencies if u in made]
    return list(made.values())


def all_violations(resources: list[PolicyResource]) -> dict[str, list[str]]:
    return {p.name: found for p in POLICIES if (found := violations(p.name, resources))}


def violations_of_program(monitor, mandatory_only: bool = False) -> list[str]:
    """`policy: message` for every violation of what a run registered (mandatory policies only if asked)."""
    found = all_violations(monitor_resources(monitor))
    return [
        f"{name}: {message}"
        for name, messages in found.items()
        if not mandatory_only or BY_NAME[name].enforcement_level == EnforcementLevel.MANDATORY
        for message in messages
    ]
