"""Request path + HTTP method -> the route registered for it, as Envoy's transcoder finds it.

A trie over path segments, searched depth first with literal segments tried before `*`
and `*` before `**`, backtracking when a branch has no route for the request's method
(grpc-httpjson-transcoding's PathMatcher): `POST /api/v1/pipelines/validate` reaches the
literal `validate` route while `GET /api/v1/pipelines/validate` falls back to
`/api/v1/pipelines/{pipeline_id}`. Trailing slashes are ignored. A custom verb (`:cancel`)
is split off the last segment only when some route registered that verb (Envoy's default
`match_unregistered_custom_verb: false`).

A path that matches no route for the method is not found; Envoy answers 404 for both an
unknown path and a known path with the wrong method, and so do we (never 405).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from services.gateway.path_template import PathTemplate, SegmentKind

RouteT = TypeVar("RouteT")


@dataclass
class _Node(Generic[RouteT]):
    literals: dict[str, _Node[RouteT]] = field(default_factory=dict)
    single: _Node[RouteT] | None = None
    rest: _Node[RouteT] | None = None
    # (HTTP method, custom verb or "") -> route
    routes: dict[tuple[str, str], tuple[PathTemplate, RouteT]] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteMatch(Generic[RouteT]):
    route: RouteT
    template: PathTemplate
    # (field path, raw percent-encoded text) for each template variable, in template order.
    variables: list[tuple[tuple[str, ...], str]]


class DuplicateRouteError(ValueError):
    """Two rules map the same HTTP method and path template."""


class RouteMatcher(Generic[RouteT]):
    def __init__(self) -> None:
        self._root: _Node[RouteT] = _Node()
        self._verbs: set[str] = set()

    def register(self, http_method: str, template: PathTemplate, route: RouteT) -> None:
        node = self._root
        for segment in template.segments:
            if segment.kind is SegmentKind.LITERAL:
                node = node.literals.setdefault(segment.literal, _Node())
            elif segment.kind is SegmentKind.SINGLE:
                node.single = node.single or _Node()
                node = node.single
            else:
                node.rest = node.rest or _Node()
                node = node.rest
        key = (http_method.upper(), template.verb or "")
        if key in node.routes:
            raise DuplicateRouteError(f"{http_method} {template.text} is mapped twice")
        node.routes[key] = (template, route)
        if template.verb:
            self._verbs.add(template.verb)

    def lookup(self, http_method: str, path: str) -> RouteMatch[RouteT] | None:
        """The route for `path` (raw, percent-encoded, without query), or None."""
        if not path.startswith("/"):
            return None
        parts = path[1:].split("/")
        while parts and not parts[-1]:
            parts.pop()
        verb = ""
        if parts and ":" in parts[-1]:
            head, _, candidate = parts[-1].rpartition(":")
            if candidate in self._verbs:
                parts[-1], verb = head, candidate
        found = self._search(self._root, parts, 0, (http_method.upper(), verb))
        if found is None:
            return None
        template, route = found
        return RouteMatch(route, template, template.variable_values(parts))

    def _search(
        self, node: _Node[RouteT], parts: list[str], index: int, key: tuple[str, str]
    ) -> tuple[PathTemplate, RouteT] | None:
        if index == len(parts):
            found = node.routes.get(key)
            if found is None and node.rest is not None:
                found = node.rest.routes.get(key)  # `**` matches no segment too
            return found
        literal = node.literals.get(parts[index])
        if literal is not None:
            found = self._search(literal, parts, index + 1, key)
            if found is not None:
                return found
        if node.single is not None:
            found = self._search(node.single, parts, index + 1, key)
            if found is not None:
                return found
        if node.rest is not None:
            return node.rest.routes.get(key)
        return None
