"""Run the Pulumi program offline, under the SDK's mocks, and keep what it registers.

`GraphMonitor` sees every `RegisterResourceRequest`: inputs as the engine receives them (camelCase),
dependencies (explicit and implicit), the provider, and options such as protect, ignoreChanges and
retainOnDelete that the plain `Mocks` interface does not expose. The tests and `render` both use it.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from kserve_triton.stack_file import config_text, read_stack_file

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "kserve-triton"

# How a secret value reaches the engine on the wire (pulumi/runtime/rpc.py).
_SECRET_SIGNATURE = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SECRET_SIGNATURE[0]) == _SECRET_SIGNATURE[1]


def unwrap_secret(value: Any) -> Any:
    return value["value"] if is_secret(value) else value


@dataclass
class Node:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool | None
    ignore_changes: list[str]
    delete_before_replace: bool
    retain_on_delete: bool | None
    aliases: list[str]
    custom_timeouts: dict[str, str]
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    registered_outputs: dict[str, Any] | None = None


class GraphMonitor(MockMonitor):
    """A mock monitor that keeps the full registration request of every resource."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.nodes: dict[str, Node] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        if urn in self.nodes:  # the real engine refuses a duplicate URN; the mock would overwrite it
            raise AssertionError(f"duplicate resource URN {urn}")
        response = super().RegisterResource(request)
        self.nodes[response.urn] = Node(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=request.custom,
            parent=request.parent,
            provider=request.provider,
            dependencies=sorted(request.dependencies),
            property_dependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
            protect=request.protect if request.HasField("protect") else None,
            ignore_changes=list(request.ignoreChanges),
            delete_before_replace=request.deleteBeforeReplace,
            retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else None,
            aliases=[str(a) for a in request.aliases],
            custom_timeouts={
                kind: getattr(request.customTimeouts, kind)
                for kind in ("create", "update", "delete")
                if getattr(request.customTimeouts, kind)
            },
            inputs=rpc.deserialize_properties(request.object),
            outputs=rpc.deserialize_properties(response.object) if request.custom else {},
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn in self.nodes:
            self.nodes[request.urn].registered_outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)

    # --- queries -------------------------------------------------------------------------------------

    def of_type(self, type_: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == type_]

    def one(self, type_: str, name: str | None = None) -> Node:
        found = [n for n in self.of_type(type_) if name is None or n.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[n.name for n in found]}"
        return found[0]

    def named(self, name: str) -> Node:
        found = [n for n in self.nodes.values() if n.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def children_of(self, parent: Node) -> list[Node]:
        return [n for n in self.nodes.values() if n.parent == parent.urn]

    def provider_of(self, node: Node) -> Node | None:
        urn = node.provider.rsplit("::", 1)[0] if node.provider else ""
        return self.nodes.get(urn)

    def edges(self, node: Node) -> list[str]:
        """URNs the engine must create before `node`: its dependencies and its provider."""
        provider = self.provider_of(node)
        return [*node.dependencies, *([provider.urn] if provider else [])]

    def depends_on(self, node: Node, target: Node) -> bool:
        """Whether the engine orders `node` after `target`, directly or through other resources."""
        seen: set[str] = set()
        pending = self.edges(node)
        while pending:
            urn = pending.pop()
            if urn == target.urn:
                return True
            if urn in seen or urn not in self.nodes:
                continue
            seen.add(urn)
            pending.extend(self.edges(self.nodes[urn]))
        return False

    def prerequisites(self, node: Node) -> set[str]:
        """URNs of the custom resources `node` waits for; a dependency on a component means on its resources."""
        found: set[str] = set()
        pending = self.edges(node)
        while pending:
            urn = pending.pop()
            if urn not in self.nodes:
                continue
            if self.nodes[urn].custom:
                found.add(urn)
            else:
                pending.extend(c.urn for c in self.children_of(self.nodes[urn]))
        return found

    def apply_order(self) -> list[Node]:
        """Custom resources in an order `pulumi up` may create them: dependencies first, ties by type/name."""
        custom = {urn: n for urn, n in self.nodes.items() if n.custom}
        waiting = {urn: self.prerequisites(n) for urn, n in custom.items()}
        order: list[Node] = []
        while waiting:
            ready = sorted((custom[u] for u, deps in waiting.items() if not deps), key=lambda n: (n.type, n.name))
            if not ready:
                raise AssertionError(f"dependency cycle among {sorted(waiting)}")
            for node in ready:
                order.append(node)
                del waiting[node.urn]
            for deps in waiting.values():
                deps.difference_update(n.urn for n in ready)
        return order


class Mocks(pulumi.runtime.Mocks):
    """Echo inputs back as outputs and fill in what the cloud would compute (camelCase keys).
    Every made-up value is derived from the resource's name, so runs are deterministic."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        suffix = hashlib.sha1(args.name.encode()).hexdigest()[:7]
        if args.typ == "gcp:serviceaccount/account:Account":
            project = args.inputs.get("project", "proj")
            email = f"{args.inputs['accountId']}@{project}.iam.gserviceaccount.com"
            outputs.update(
                email=email, member=f"serviceAccount:{email}", name=f"projects/{project}/serviceAccounts/{email}"
            )
        elif args.typ == "gcp:container/cluster:Cluster":
            outputs.update(endpoint="203.0.113.10", masterAuth={"clusterCaCertificate": "Q0EtREFUQQ=="})
        elif args.typ.startswith("gcp:") and "name" not in outputs:
            outputs["name"] = f"{args.name}-{suffix}"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "gcp:container/getCluster:getCluster":
            return existing_gke_cluster(args.args)
        return {}


EXISTING_CLUSTER_OVERRIDES: dict[str, dict[str, Any]] = {}
"""Cluster name -> fields that replace the mock's answer (tests describe a cluster without Workload Identity,
or an Autopilot one, by name)."""


def existing_gke_cluster(query: dict[str, Any]) -> dict[str, Any]:
    """What `gcp.container.get_cluster` answers for an existing GKE cluster: a Standard cluster with Workload
    Identity, as the GKE API describes one (the fields this program reads)."""
    project = query.get("project", "proj")
    return {
        "name": query["name"],
        "location": query.get("location"),
        "project": project,
        "endpoint": "198.51.100.20",
        "masterAuths": [{"clusterCaCertificate": "RVhJU1RJTkctQ0E=", "clientCertificate": "", "clientKey": ""}],
        "workloadIdentityConfigs": [{"workloadPool": f"{project}.svc.id.goog"}],
        "enableAutopilot": False,
        **EXISTING_CLUSTER_OVERRIDES.get(query["name"], {}),
    }


@dataclass(frozen=True)
class Export:
    value: Any
    secret: bool


class OfflineRun:
    """Runs Pulumi code under mocks with a given stack config; `monitor` holds what was registered."""

    def __init__(self, stack: str = "test"):
        self.stack = stack
        self.mocks = Mocks()
        self.monitor = GraphMonitor(self.mocks)
        # A fresh stack resource per run: the SDK keeps the last one, and with it the last run's exports.
        pulumi.runtime.settings.ROOT.set(None)
        pulumi.runtime.set_mocks(self.mocks, project=PROJECT, stack=stack, preview=False, monitor=self.monitor)
        self.exports: dict[str, Export] = {}

    # (config, program) -> (nodes, exports) of a finished run, for callers that only read what a run registered.
    _finished: dict[str, tuple[dict[str, Node], dict[str, Export]]] = {}

    def configure(self, config: dict[str, Any], secret_keys: list[str] | None = None) -> None:
        """Set the stack config, given as in a stack file (`gcp:project`, `kserve-triton:cluster`...), as the Pulumi
        CLI hands it to the program: each value as the text it would get (`stack_file.config_text`)."""
        self._config_key = json.dumps([config, sorted(secret_keys or [])], sort_keys=True, default=str)
        pulumi.runtime.set_all_config({key: config_text(value) for key, value in config.items()}, secret_keys or [])

    def run(self, program: Callable[[], Any]) -> Any:
        """Run `program` as a Pulumi program; returns once every registration has settled."""
        result: dict[str, Any] = {}

        @pulumi.runtime.test
        def _run():
            result["value"] = program()

        _run()
        return result.get("value")

    def run_main(self, program_dir: Path = ROOT, reuse: bool = False) -> None:
        """Run the real __main__.py with the current config; exports land in `self.exports`.

        `reuse`: a run of the same program with the same config (and mock answers) already finished in this
        process gives a copy of what it registered instead of running again (for readers only: nothing of the
        program runs, so nothing patched into it is called)."""
        key = json.dumps([getattr(self, "_config_key", None), str(program_dir), EXISTING_CLUSTER_OVERRIDES])
        if reuse and key in OfflineRun._finished:
            nodes, exports = OfflineRun._finished[key]
            self.monitor.nodes, self.exports = copy.deepcopy(nodes), copy.deepcopy(exports)
            return
        self._run_main(program_dir)
        if reuse:
            OfflineRun._finished[key] = (copy.deepcopy(self.monitor.nodes), copy.deepcopy(self.exports))

    def _run_main(self, program_dir: Path) -> None:

        def program():
            runpy.run_path(str(program_dir / "__main__.py"), run_name="__main__")
            exported = pulumi.runtime.get_root_resource().outputs
            names = sorted(exported)
            values = [pulumi.Output.from_input(exported[n]) for n in names]

            async def collect():
                for name, value in zip(names, values, strict=True):
                    self.exports[name] = Export(await value.future(), await value.is_secret())

            return pulumi.Output.from_input(asyncio.ensure_future(collect()))

        self.run(program)


def stack_name(stack_file: Path) -> str:
    """`Pulumi.<name>.yaml` -> name, as the Pulumi CLI names the stack a file configures."""
    parts = stack_file.name.split(".")
    return ".".join(parts[1:-1]) if len(parts) > 2 and parts[0] == "Pulumi" else stack_file.stem


def stack_file_for(stack: str | Path, program_dir: Path = ROOT) -> Path:
    """A stack name (`dev`: Pulumi.dev.yaml beside the program) or the path of any stack file."""
    path = Path(stack)
    if path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    return program_dir / f"Pulumi.{stack}.yaml"


def stack_config(stack_file: Path) -> dict[str, Any]:
    """The `config:` of a Pulumi.<stack>.yaml file as the Pulumi CLI reads it (`kserve_triton/stack_file.py`): keys
    namespaced, values decoded as yaml.v3 decodes them; encrypted values are kept as `Secret`s.

    Raises StackFileError with one line per problem, naming the file (and the line and column)."""
    return read_stack_file(stack_file, PROJECT).config


def run_stack(
    stack: str | Path,
    program_dir: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    reuse: bool = False,
    config: dict[str, Any] | None = None,
) -> OfflineRun:
    """Run the program under mocks with a stack file's config (a name, or a path), or `config` instead of it, plus
    `overrides` (whole settings, by namespace:name)."""
    stack_file = stack_file_for(stack, program_dir)
    run = OfflineRun(stack_name(stack_file))
    run.configure({**(stack_config(stack_file) if config is None else config), **(overrides or {})})
    run.run_main(program_dir, reuse=reuse)
    return run
