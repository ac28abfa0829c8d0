"""The network vocabulary read and checked: which app declares which flow, which namespaces mip-cmp closes,
the names of the policies, and what the declarations may say beyond what their models check (peers that exist
and are unambiguous, names unique; a federation's claim on remote peers, only those the platform assigned to
it). expand/policies.py then renders them without checking again."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ..core.errors import Problem
from ..core.keypath import KeyPath
from ..core.suggest import did_you_mean
from ..model.apps import CommonApp, InfrastructureApp
from ..model.federation import Federation
from ..model.network import AppNetwork, Flow
from ..model.platform import Platform
from ..stage1_read.yamlsource import Document

# Names expand/policies.py gives its own policies: a flow may not take them (nor a name it derives from an app's).
DEFAULT_DENY = "default-deny"
SAME_NAMESPACE_POLICY = "allow-same-namespace"
DNS_POLICY = "allow-dns"
WEB_POLICY = "allow-web-egress"
ACME_POLICY = "allow-acme-http01"
INGRESS_POLICY_PREFIX = "allow-ingress-to-"
ISOLATE_POLICY_PREFIX = "isolate-"
FIXED_POLICY_NAMES = (DEFAULT_DENY, SAME_NAMESPACE_POLICY, DNS_POLICY, WEB_POLICY, ACME_POLICY)
DERIVED_POLICY_PREFIXES = (INGRESS_POLICY_PREFIX, ISOLATE_POLICY_PREFIX)


def closed_apps(p: Platform) -> dict[str, CommonApp | InfrastructureApp]:
    """Common and infrastructure apps whose namespace mip-cmp closes (each gets a `<name>-network`
    Application), by name."""
    apps: dict[str, CommonApp | InfrastructureApp] = dict(p.commonApps)
    apps.update({name: app for name, app in p.infrastructure.items() if app.network is not None})
    return apps


def app_network(p: Platform, name: str) -> tuple[AppNetwork, str | None]:
    """An app's network declarations and its namespace (None: a catalog app, in each federation that runs it).
    A catalog name wins over a common or infrastructure app of the same name, which flow_problems refuses."""
    if name in p.catalog:
        return p.catalog[name].network, None
    if name in p.commonApps:
        return p.commonApps[name].network, p.commonApps[name].namespace
    infra = p.infrastructure[name]
    return infra.network or AppNetwork(), infra.namespace


def declared_flows(p: Platform) -> list[tuple[str, int, Flow]]:
    """Every flow the platform's apps declare: (declaring app, index, flow), catalog, common, infrastructure."""
    apps = dict.fromkeys([*p.catalog, *p.commonApps, *p.infrastructure])
    return [(name, index, flow) for name in apps for index, flow in enumerate(app_network(p, name)[0].flows)]


def flow_name(app: str, index: int, flow: Flow) -> str:
    """The name of a flow's policy on its declaring app's side (the peer's side adds `-ingress`/`-egress`)."""
    return flow.name or f"{app}-flow-{index + 1}"


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "(none)"


def _sections(p: Platform) -> dict[str, str]:
    """App name -> the section of the platform file that declares it (the first, for a name given twice)."""
    sections: dict[str, str] = {}
    for section, apps in (("catalog", p.catalog), ("commonApps", p.commonApps), ("infrastructure", p.infrastructure)):
        for name in apps:
            sections.setdefault(name, section)
    return sections


def flow_problems(p: Platform, doc: Document) -> list[Problem]:
    """Every app's `network`: each flow's peer exists, is one app only, and is reachable as written."""
    sections = _sections(p)
    problems = _ambiguous_names(p, doc)
    for section, apps in (("catalog", p.catalog), ("commonApps", p.commonApps)):
        for name, app in apps.items():
            problems += _app_problems(p, doc, (section, name, "network"), section, app.network, sections)
    for name, infra in p.infrastructure.items():
        if infra.network is not None:
            problems += _app_problems(p, doc, ("infrastructure", name, "network"), "infrastructure", infra.network,
                                      sections)
    return problems + _name_problems(p, doc, sections) + _shared_peer_addresses(p, doc)


def _shared_peer_addresses(p: Platform, doc: Document) -> list[Problem]:
    """Peers of two federations whose ranges overlap: one federation's remote flows would reach the other's
    node, which assigning each peer to one federation is meant to prevent. A sweep over the ranges sorted by
    their first address: each is compared only with the earlier ones it overlaps, not with every peer."""
    ranges = sorted((int(net.network_address), int(net.broadcast_address), name, i, cidr, peer.federation)
                    for name, peer in p.network.peers.items() for i, cidr in enumerate(peer.cidrs)
                    for net in [ipaddress.ip_network(cidr, strict=False)])
    problems = []
    open_ranges: list[tuple[int, str, str]] = []  # (last address, peer, federation) of the ranges not yet passed
    for first, last, name, i, cidr, federation in ranges:
        open_ranges = [r for r in open_ranges if r[0] >= first]
        other = next((r for r in open_ranges if r[2] != federation), None)
        if other is not None:
            problems.append(doc.problem(("network", "peers", name, "cidrs", i), (
                f"{cidr} overlaps peer {other[1]!r}, assigned to federation {other[2]!r}: a remote flow of one "
                "federation would reach the other's node; give each federation ranges of its own")))
        open_ranges.append((last, name, federation))
    return problems


def _app_namespaces(p: Platform) -> dict[str, str]:
    """Namespace -> the common or infrastructure app that runs there (the first one listed)."""
    owners = [(app.namespace, name) for name, app in p.commonApps.items()]
    owners += [(app.namespace, name) for name, app in p.infrastructure.items()]
    return dict(reversed(owners))


def _ambiguous_names(p: Platform, doc: Document) -> list[Problem]:
    """A name that is a catalog app and a common or infrastructure app too: a flow naming it would be unclear."""
    others = {*p.commonApps, *p.infrastructure}
    return [doc.problem(("catalog", name), f"{name!r} is also a common or infrastructure app: a flow to "
                                           f"`app: {name}` would be ambiguous; rename one of them", key=True)
            for name in p.catalog if name in others]


def _app_problems(p: Platform, doc: Document, at: KeyPath, section: str, network: AppNetwork,
                  sections: dict[str, str]) -> list[Problem]:
    problems = []
    if not network.web and section == "catalog":
        problems.append(doc.problem((*at, "web"), "a catalog app shares its federation's namespace, whose web "
                                                  "egress is the platform's (`network.web`); remove `web`"))
    for i, flow in enumerate(network.flows):
        end = (*at, "flows", i, "to" if flow.to is not None else "from")
        peer = flow.peer()
        if peer.app is not None:
            if peer.app not in sections:
                problems.append(doc.problem((*end, "app"), f"unknown app {peer.app!r} (the platform's apps are: "
                                                           f"{_listed(sections)}){did_you_mean(peer.app, sections)}"))
            elif sections[peer.app] == "catalog" and not peer.pods:
                problems.append(doc.problem((*end, "app"), f"{peer.app!r} shares each federation's namespace "
                                                           "with other apps: name its pods (`pods`)"))
        if peer.namespace is not None and peer.namespace in _app_namespaces(p):
            owner = _app_namespaces(p)[peer.namespace]
            problems.append(doc.problem((*end, "namespace"), f"{peer.namespace!r} is {owner!r}'s namespace: write "
                                                             f"`app: {owner}`, so mip-cmp makes the policy on "
                                                             "its side too"))
        if peer.remote and section != "catalog":
            problems.append(doc.problem((*end, "remote"), "remote peers belong to a hybrid federation: only a "
                                                          "catalog app's flow can reach them"))
        if peer.apiServer and p.network.apiServer is None:
            problems.append(doc.problem((*end, "apiServer"), "the platform does not say where the API server "
                                                             "listens: set `network.apiServer.cidrs`"))
    return problems


def _name_problems(p: Platform, doc: Document, sections: dict[str, str]) -> list[Problem]:
    """Each flow's policy name once in the platform (its policies may land in one namespace), and none of
    the names expand/policies.py gives its own policies."""
    problems = []
    seen: set[str] = set()
    for app, index, flow in declared_flows(p):
        name = flow_name(app, index, flow)
        at = (sections[app], app, "network", "flows", index, "name")
        if name in seen:
            problems.append(doc.problem(at, f"another flow's policy is named {name!r}; give this one another "
                                            "`name`"))
        elif name in FIXED_POLICY_NAMES or name.startswith(DERIVED_POLICY_PREFIXES):
            problems.append(doc.problem(at, f"{name!r} is a name mip-cmp gives its own policies; choose another"))
        seen.add(name)
    return problems


def peer_problems(p: Platform, f: Federation, doc: Document) -> list[Problem]:
    """A federation names only remote peers the platform assigned to it (`network.peers.<name>.federation`),
    only as a hybrid federation, and only when one of its apps has a flow to them. A peer assigned to another
    federation is refused: naming it would open a path to that federation's remote node."""
    if f.peers and f.type != "hybrid":
        return [doc.problem(("peers",), "peers are for hybrid federations: set `type: hybrid` or remove `peers`")]
    problems = []
    assigned = sorted(name for name, peer in p.network.peers.items() if peer.federation == f.name)
    yours = f"the peers the platform assigned to {f.name!r} are: {_listed(assigned)}"
    for i, name in enumerate(f.peers):
        if name in f.peers[:i]:
            problems.append(doc.problem(("peers", i), f"{name!r} is listed twice"))
        elif name not in p.network.peers:
            problems.append(doc.problem(("peers", i), f"unknown peer {name!r} ({yours}){did_you_mean(name, assigned)}"))
        elif name not in assigned:
            problems.append(doc.problem(("peers", i), f"peer {name!r} is assigned to federation "
                                                      f"{p.network.peers[name].federation!r}, not to this one; "
                                                      f"{yours}{did_you_mean(name, assigned)}"))
    reaches_remote = any(flow.peer().remote for a in f.apps if a in p.catalog for flow in p.catalog[a].network.flows)
    if f.peers and not reaches_remote:
        problems.append(doc.problem(("peers",), "none of this federation's apps has a flow to remote peers "
                                                "(catalog `network.flows` with `remote: true`); remove `peers`"))
    return problems
