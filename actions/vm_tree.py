"""OSWorld's accessibility tree (GET /accessibility -> {"AT": xml}) read into ElementInfo.

Format (desktop_env/server/main.py): one XML element per accessible node, the tag is its role
(`push-button`, `entry`, `frame`; spaces become dashes), `name` its accessible name, its text the
node's text. Namespaced attributes carry the rest; the namespace URIs differ per OS
(`https://accessibility.ubuntu.example.org/ns/state`, `...windows.example.org/ns/state`, ...), so
they are told apart by their last path part:
- `.../ns/state` (prefix st): a state such as `focused`, `enabled`, `showing`: "true" when set
  (Linux lists only set states; Windows writes "true"/"false").
- `.../ns/component` (prefix cp): `screencoord` "(x, y)" and `size` "(w, h)", in SCREEN pixels of
  the VM (top-left origin), present only for visible and showing nodes.

Frames: the VM's screen pixels are the environment's logical pixels (VmEnvironment has no monitor
offset), so boxes are used as they are.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from actions.types import ElementInfo, Frozen

_PAIR = re.compile(r"^\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)$")


class TreeNode(Frozen):
    """One accessible node: role (the tag), name, text, states that are set, and its box
    (x, y, width, height in screen pixels) when it is showing; `depth` 0 is the root."""

    role: str
    name: str = ""
    text: str = ""
    states: frozenset[str] = frozenset()
    bbox: tuple[float, float, float, float] | None = None
    depth: int = 0


def _split(key: str) -> tuple[str, str]:
    """'{uri}local' -> ('state' | 'component' | ..., local); plain 'name' -> ('', 'name')."""
    if key.startswith("{"):
        uri, local = key[1:].split("}", 1)
        return uri.rstrip("/").rsplit("/", 1)[-1], local
    return "", key


def _pair(value: str | None) -> tuple[float, float] | None:
    match = _PAIR.match(value.strip()) if value else None
    return (float(match.group(1)), float(match.group(2))) if match else None


def parse_tree(xml: str) -> list[TreeNode]:
    """Every node of the tree, in document order. Raises ValueError on text that is not XML."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ValueError(f"not an accessibility tree: {exc}") from exc
    nodes: list[TreeNode] = []

    def visit(element: ET.Element, depth: int) -> None:
        states: set[str] = set()
        coord = size = None
        for key, value in element.attrib.items():
            space, local = _split(key)
            if space == "state" and value.lower() == "true":
                states.add(local)
            elif space == "component" and local == "screencoord":
                coord = _pair(value)
            elif space == "component" and local == "size":
                size = _pair(value)
        bbox = (*coord, *size) if coord and size and size[0] > 0 and size[1] > 0 else None
        tag = element.tag.split("}", 1)[-1]
        nodes.append(
            TreeNode(
                role=tag,
                name=element.get("name") or "",
                text=(element.text or "").strip(),
                states=frozenset(states),
                bbox=bbox,
                depth=depth,
            )
        )
        for child in element:
            visit(child, depth + 1)

    visit(root, 0)
    return nodes


def node_at(nodes: list[TreeNode], x: float, y: float) -> TreeNode | None:
    """The innermost showing node whose box holds (x, y): the smallest box, the deeper on a tie."""
    best: TreeNode | None = None
    for node in nodes:
        if node.bbox is None:
            continue
        bx, by, bw, bh = node.bbox
        if not (bx <= x < bx + bw and by <= y < by + bh):
            continue
        if best is None or best.bbox is None:
            best = node
            continue
        area, best_area = bw * bh, best.bbox[2] * best.bbox[3]
        if area < best_area or (area == best_area and node.depth > best.depth):
            best = node
    return best


def focused_node(nodes: list[TreeNode]) -> TreeNode | None:
    """The deepest node with the `focused` state (the widget with the keyboard focus), if any."""
    focused = [n for n in nodes if "focused" in n.states]
    return max(focused, key=lambda n: n.depth) if focused else None


def element_info(node: TreeNode) -> ElementInfo:
    """The node as the agent's ElementInfo. `disabled` only when the tree lists states and neither
    `enabled` nor `sensitive` is among them: a click on such a node is refused, so be sure."""
    texts = tuple(t for t in (node.name, node.text) if t)
    disabled = bool(node.states) and not ({"enabled", "sensitive"} & node.states)
    return ElementInfo(
        tag=node.role, role=node.role, name=node.name or None, text=node.text,
        texts=texts, bbox=node.bbox, disabled=disabled,
    )  # fmt: skip
