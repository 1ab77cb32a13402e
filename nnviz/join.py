"""How students reach this server: the short join URL a teacher shows the class, and its QR code.

The URL is, in order of preference:

1. ``$NNVIZ_JOIN_URL`` when set: the address students use behind a proxy or under a DNS name
   (``http://nnviz.school.lan``), which the server cannot find out by itself;
2. the address the teacher's own browser used, when it is not this machine's loopback (the
   teacher opened ``http://192.168.1.20:8501``: that is what works for the class too);
3. this machine's LAN address (its network interfaces, through ``psutil``) and the port the
   server listens on: ``http://192.168.1.20:8501``.

A server that listens on the loopback only (``server.address = "localhost"``, the app's default
for safety) is reachable from no other machine: :func:`join_url` then gives no URL, and says how to
open the server to the class instead.
"""

from __future__ import annotations

import io
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

# What `streamlit run` takes to listen on every interface; shown to a teacher whose server is local only.
OPEN_COMMAND = "streamlit run app.py --server.address 0.0.0.0"
ALL_INTERFACES = ("", "0.0.0.0", "::")
# Interfaces of containers, virtual machines and VPN tunnels: their addresses are not the
# classroom's network, so a LAN card's address is preferred to them.
VIRTUAL_PREFIXES = ("docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "lxc", "lxd", "cni", "flannel",
                    "tun", "tap", "wg", "zt", "tailscale", "utun")
PRIVATE_LAN = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


@dataclass(frozen=True)
class Join:
    """How the class reaches the server.

    Attributes:
        url: what students type (``http://192.168.1.20:8501``), or None when no other machine can
            reach this server.
        local_only: the server listens on this machine's loopback only.
        note: one plain-words sentence for the teacher: where the URL comes from, or why there is none.
    """

    url: str | None
    local_only: bool
    note: str


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or an IPv4/IPv6 address, brackets allowed) is this machine only."""
    host = (host or "").strip().strip("[]").lower()
    if host in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lan_address(interfaces: dict[str, list[str]], route_address: str | None = None) -> str | None:
    """The IPv4 address of this machine that a classroom most likely shares, or None.

    Args:
        interfaces: ``{interface name: [IPv4 addresses]}`` of the interfaces that are up
            (:func:`machine_interfaces`).
        route_address: the address this machine sends from by default (:func:`route_address`),
            preferred among equals.

    Loopback, link-local (169.254.x.x), multicast and unspecified addresses are never chosen.
    Preferred, in order: a physical interface over a container's, VM's or VPN's
    (:data:`VIRTUAL_PREFIXES`); a private LAN range (10/8, 172.16/12, 192.168/16, RFC 1918) over
    any other; the default route's address; then the interfaces' own order.
    """
    candidates = []
    for order, (name, addresses) in enumerate(interfaces.items()):
        for text in addresses:
            try:
                ip = ipaddress.IPv4Address(text)
            except ValueError:
                continue
            if ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
                continue
            virtual = name.lower().startswith(VIRTUAL_PREFIXES)
            private = any(ip in net for net in PRIVATE_LAN)
            candidates.append(((virtual, not private, text != route_address, order), text))
    return min(candidates)[1] if candidates else None


def _path(base_path: str) -> str:
    return "/" + base_path.strip("/") if base_path.strip("/") else ""


def _url(host: str, port: int, base_path: str = "") -> str:
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}{'' if port == 80 else f':{port}'}{_path(base_path)}"


def join_url(listen_address: str | None, port: int, interfaces: dict[str, list[str]], *,
             override: str | None = None, browser_url: str | None = None, route: str | None = None,
             base_path: str = "") -> Join:
    """The URL students type to join, from what the server knows about itself.

    Args:
        listen_address: Streamlit's ``server.address`` (None or ``""``: every interface).
        port: Streamlit's ``server.port``.
        interfaces: ``{interface name: [IPv4 addresses]}`` (:func:`machine_interfaces`).
        override: ``$NNVIZ_JOIN_URL``; must be an ``http://`` or ``https://`` URL with a host.
        browser_url: the URL of the teacher's own page (Streamlit's ``st.context.url``); used
            when its host is not the loopback (it may carry a page path, which is dropped).
        route: this machine's default-route address (:func:`route_address`), preferred among equals.
        base_path: Streamlit's ``server.baseUrlPath``.

    Raises:
        ValueError: ``override`` is set but is not an http(s) URL with a host; the message says so.
    """
    if override:
        parts = urlsplit(override.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"NNVIZ_JOIN_URL must be a web address such as http://nnviz.school.lan, "
                             f"not {override!r}.")
        return Join(override.strip().rstrip("/"), False, "Set by the server's NNVIZ_JOIN_URL.")
    if listen_address and is_loopback(listen_address):
        return Join(None, True, f"This server listens on {listen_address} only: no other computer can reach it. "
                                f"To open it to the class, restart it with `{OPEN_COMMAND}`.")
    if browser_url:
        parts = urlsplit(browser_url)
        if parts.hostname and not is_loopback(parts.hostname):
            return Join(f"{parts.scheme}://{parts.netloc}{_path(base_path)}", False,
                        "The address this browser used to open the app.")
    if listen_address and listen_address not in ALL_INTERFACES:
        return Join(_url(listen_address, port, base_path), False, "The address this server listens on.")
    host = lan_address(interfaces, route)
    if host is None:
        return Join(None, False, "This computer has no network address other than its own loopback: connect it "
                                 "to the classroom's network (or set NNVIZ_JOIN_URL).")
    return Join(_url(host, port, base_path), False, "This computer's address on the local network.")


def machine_interfaces() -> dict[str, list[str]]:
    """``{interface name: [IPv4 addresses]}`` of this machine's network interfaces that are up
    (``psutil.net_if_addrs``; Linux, macOS and Windows alike)."""
    import psutil

    stats = psutil.net_if_stats()
    return {name: [a.address for a in addresses if a.family == socket.AF_INET]
            for name, addresses in psutil.net_if_addrs().items() if name not in stats or stats[name].isup}


def route_address() -> str | None:
    """The IPv4 address this machine sends from by default, or None without a default route.

    Connecting a UDP socket sends nothing: it only asks the kernel which interface it would use
    (the same trick as Streamlit's ``net_util.get_internal_ip``, which prints the "Network URL").
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return None


def qr_png(url: str, scale: int = 8) -> bytes:
    """A QR code of ``url`` as PNG bytes: black modules on white, ``scale`` pixels per module, the
    standard 4-module quiet zone. Error correction M (15 % of the code may be hidden or smudged;
    segno's ``boost_error`` raises it when the URL fits anyway). Made by ``segno`` (ISO/IEC 18004)."""
    import segno

    buffer = io.BytesIO()
    segno.make_qr(url, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
