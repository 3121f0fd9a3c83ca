"""What a request that got no HTTP answer says: every transport failure of aiohttp, httpx2 and
the standard library (whichever client sent it: llmx's direct aiohttp POST, openai's vendored
aiohttp transport, which re-raises aiohttp's errors as httpx2's, or plain httpx2) read into one
:class:`TransportFault`: what happened, where, and what to do; whether another attempt can help;
and whether the server cannot serve any article (the run stops, exit 2) or only this answer was
lost (the article is retried, then fails).

The whole ``__cause__`` / ``__context__`` chain is read, most specific rule first: openai
reports a refused connection through its aiohttp transport as a *timeout*, and a redirect loop
as a plain connection error, so the outer class alone says little.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from socket import gaierror as socket_gaierror
from urllib.parse import urlsplit

import aiohttp
import httpx2
from aiohttp import http_exceptions

from llmx.errors import error_chain
from llmx.model.http_errors import short


@dataclass(frozen=True)
class TransportFault:
    kind: str  # redirect_loop, bad_redirect, tls_certificate, tls, proxy, dns, not_http, broken_body,
    # dropped, refused, unreachable, connect_timeout, timeout, other
    message: str
    retry: bool  # can another attempt succeed?
    stops_run: bool  # the server cannot serve any article (EndpointError), or one answer was lost


@dataclass(frozen=True)
class _Where:
    url: str
    tries: int

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or self.url

    @property
    def port(self) -> str:
        parts = urlsplit(self.url)
        return str(parts.port or (443 if parts.scheme == "https" else 80))


def _text(error: object, limit: int = 120) -> str:
    return short(str(error) or type(error).__name__, limit)


def _reason(error: BaseException) -> str:
    """An aiohttp connector error's own OS or TLS reason, not its "Cannot connect to host…" wrapper."""
    inner = getattr(error, "os_error", None)
    if isinstance(inner, BaseException):
        error = inner
    if isinstance(error, OSError) and error.strerror and not isinstance(error, ssl.SSLError):
        return _text(error.strerror)
    return _text(error)


def _redirect_loop(error: BaseException, at: _Where) -> TransportFault | None:
    if not isinstance(error, (aiohttp.TooManyRedirects, httpx2.TooManyRedirects)):
        return None
    history = getattr(error, "history", ()) or ()
    last = str(history[-1].headers.get("location", "")) if history else ""
    to = f", the last one to {_text(last)}" if last else ""
    return TransportFault(
        "redirect_loop",
        f"{at.url} redirects in a loop (too many redirects{to}): the request never reaches the API. Set "
        "--base-url to the address the API answers on itself (http or https, the host, a path ending in /v1), "
        "or fix the redirect rule of the proxy in front of it",
        retry=False,
        stops_run=True,
    )


def _bad_redirect(error: BaseException, at: _Where) -> TransportFault | None:
    kinds = (aiohttp.RedirectClientError, aiohttp.NonHttpUrlClientError, httpx2.UnsupportedProtocol, httpx2.InvalidURL)
    if not isinstance(error, kinds):
        return None
    return TransportFault(
        "bad_redirect",
        f"{at.url} redirects to a URL llmx cannot follow ({_text(error)}): set --base-url to the API's own "
        "http(s) address",
        retry=False,
        stops_run=True,
    )


def _tls(error: BaseException, at: _Where) -> TransportFault | None:
    if isinstance(error, (ssl.SSLCertVerificationError, aiohttp.ClientConnectorCertificateError)):
        reason = getattr(error, "verify_message", None) or getattr(error, "certificate_error", error)
        return TransportFault(
            "tls_certificate",
            f"{at.url} has a TLS certificate this machine does not trust ({_text(reason)}): if the server uses "
            "its own certificate authority, point SSL_CERT_FILE at that CA's file; otherwise check the host "
            "in --base-url",
            retry=False,
            stops_run=True,
        )
    if not isinstance(error, (ssl.SSLError, aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch)):
        return None
    if "wrong version number" in str(error).lower():
        fix = "the server answers plain HTTP on that port: write http:// in --base-url"
    else:
        fix = "does the server speak https on that port? check --base-url"
    return TransportFault(
        "tls", f"{at.url} failed the TLS handshake ({_reason(error)}): {fix}", retry=False, stops_run=True
    )


def _proxy(error: BaseException, at: _Where) -> TransportFault | None:
    if not isinstance(error, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError, httpx2.ProxyError)):
        return None
    return TransportFault(
        "proxy",
        f"{at.url} cannot be reached through the proxy ({_text(error)}), {at.tries} tries: check "
        f"HTTPS_PROXY / HTTP_PROXY, or add {at.host} to NO_PROXY",
        retry=True,
        stops_run=True,
    )


def _dns(error: BaseException, at: _Where) -> TransportFault | None:
    if not isinstance(error, (aiohttp.ClientConnectorDNSError, socket_gaierror)):
        return None
    reason = _reason(error)
    return TransportFault(
        "dns",
        f"cannot connect to {at.url}: the host name '{at.host}' does not resolve ({reason}), {at.tries} tries; "
        "check the host in --base-url (a typo?) and this machine's network",
        retry=True,
        stops_run=True,
    )


def _h11(error: BaseException) -> bool:
    """h11 / httpcore's protocol error (httpx2's own transport), told apart by its text."""
    named = type(error).__name__ in ("RemoteProtocolError", "LocalProtocolError")
    return named and type(error).__module__.split(".")[0] in ("h11", "httpcore2", "httpcore")


def _not_http(error: BaseException, at: _Where) -> TransportFault | None:
    broken = isinstance(error, http_exceptions.HttpProcessingError)
    if _h11(error):
        text = str(error).lower()
        broken = "disconnected" not in text and "peer closed" not in text
    if not broken:
        return None
    return TransportFault(
        "not_http",
        f"{at.url} answered with something that is not valid HTTP ({_text(error)}): is port {at.port} in "
        "--base-url the API's port, not another service's?",
        retry=False,
        stops_run=True,
    )


def _broken_body(error: BaseException, at: _Where) -> TransportFault | None:
    cut = _h11(error) and "peer closed" in str(error).lower()
    if not isinstance(error, (aiohttp.ClientPayloadError, httpx2.DecodingError)) and not cut:
        return None
    return TransportFault(
        "broken_body",
        f"{at.url} sent an answer body that was cut off or cannot be decoded ({_text(error)}), {at.tries} "
        "tries: the server or a proxy in between broke it",
        retry=True,
        stops_run=False,
    )


def _dropped(error: BaseException, at: _Where) -> TransportFault | None:
    kinds = (
        aiohttp.ServerDisconnectedError,
        ConnectionResetError,
        BrokenPipeError,
        httpx2.ReadError,
        httpx2.WriteError,
    )
    protocol = type(error).__name__ == "RemoteProtocolError" and "disconnected" in str(error).lower()
    if not isinstance(error, kinds) and not protocol:
        return None
    return TransportFault(
        "dropped",
        f"{at.url} dropped the connection before answering, {at.tries} tries (the server or a proxy closed "
        "it: is it restarting, or out of memory?)",
        retry=True,
        stops_run=False,
    )


def _refused(error: BaseException, at: _Where) -> TransportFault | None:
    if isinstance(error, ConnectionRefusedError):
        return TransportFault(
            "refused",
            f"cannot connect to {at.url}: connection refused (nothing listens on {at.host} port {at.port}), "
            f"{at.tries} tries; is the server running, is --base-url right?",
            retry=True,
            stops_run=True,
        )
    return None


def _unreachable(error: BaseException, at: _Where) -> TransportFault | None:
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return TransportFault(
            "connect_timeout",
            f"cannot connect to {at.url}: no answer to the connection within the timeout, {at.tries} tries; "
            "is the host in --base-url right, is a firewall dropping the connection?",
            retry=True,
            stops_run=True,
        )
    if isinstance(error, (aiohttp.ClientConnectorError, httpx2.ConnectError)):
        return TransportFault(
            "unreachable",
            f"cannot connect to {at.url} ({_reason(error)}), {at.tries} tries; is the server running "
            "and reachable from here, is --base-url right?",
            retry=True,
            stops_run=True,
        )
    return None


# Most specific first: each rule is tried on every error of the chain before the next rule.
_RULES: tuple[Callable[[BaseException, _Where], TransportFault | None], ...] = (
    _redirect_loop,
    _bad_redirect,
    _tls,
    _proxy,
    _dns,
    _broken_body,
    _not_http,
    _dropped,
    _refused,
    _unreachable,
)


def transport_fault(error: BaseException, url: str, tries: int = 1, timed_out: bool = False) -> TransportFault:
    """What the failed request ``error`` (sent to ``url``, ``tries`` times) says. ``timed_out``:
    the client reported a timeout, believed only when nothing more specific is in the chain."""
    at = _Where(url, tries)
    errors = error_chain(error)
    for rule in _RULES:
        for seen in errors:
            fault = rule(seen, at)
            if fault is not None:
                return fault
    if timed_out:
        return TransportFault(
            "timeout", f"no complete answer from {url} within the timeout, {tries} tries", retry=True, stops_run=False
        )
    inner = errors[-1]
    return TransportFault(
        "other",
        f"cannot connect to {url} ({type(inner).__name__}: {_text(inner)}), {tries} tries; is the server running, "
        "is --base-url right?",
        retry=True,
        stops_run=True,
    )


def retryable(error: BaseException) -> bool:
    """Can another attempt of this failed request succeed? (A redirect loop, a TLS or HTTP
    mismatch cannot: the same request meets the same answer.)"""
    return transport_fault(error, "", timed_out=True).retry
