"""The one place skid reaches under docker-py's public API: its private helpers and the raw HTTP answer.

docker-py's public calls (events(), logs(), stats(), build(), attach()) read a stream for the caller, but
none hands back the answer so that another thread can end it, none lets the answer take a deadline to begin
and none after, and their readers cost more per line than a flood allows. So skid sends those requests
itself, through the helpers below, and nowhere else.

One way in, one way out: `open_stream()` sends a streamed request and returns its answer (an HTTP error
already raised as docker-py's APIError); `close_stream()` ends that answer from any thread, at once. What
is read in between comes from `json_stream()`, `raw_socket()`, `buffered_body()`, or the answer's own
urllib3 reader; `Stream` bundles the items of an answer with the way to close it.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import docker
import docker.constants
import docker.errors
import docker.utils
import requests
import urllib3.exceptions


def negotiate_version(api: docker.APIClient) -> dict[str, Any]:
    """Ask the engine for /version and speak its API version from then on; the /version document.

    Raises docker.errors.DockerException when the answer has no API version or one older than docker-py's."""
    version = api.version(api_version=False)
    server_api = str(version.get("ApiVersion") or "")
    if not server_api:
        raise docker.errors.DockerException('invalid answer from the engine: no "ApiVersion" in /version')
    if docker.utils.version_lt(server_api, docker.constants.MINIMUM_DOCKER_API_VERSION):
        raise docker.errors.DockerException(f"engine API {server_api} is older than the oldest skid "
                                            f"speaks ({docker.constants.MINIMUM_DOCKER_API_VERSION})")
    # docker-py negotiates only in its constructor (version="auto"), where a timeout loses its name.
    api._version = server_api
    return version


def open_stream(
    api: docker.APIClient,
    method: Literal["GET", "POST"],
    path: str,
    *args: str,
    params: Mapping[str, Any] | None = None,
    data: Any = None,
    headers: Mapping[str, str] | None = None,
    begin_within: float | None = None,
) -> requests.Response:
    """Send a streamed request to `path` (`{0}` filled with args, quoted) and return its answer, unread.

    begin_within: seconds the answer may take to begin; once it has, reads wait as long as the stream stays
    open (a quiet events stream is not a hung engine). None: no limit at all. An error status raises
    docker.errors.APIError (the answer closed). End the answer with close_stream().
    """
    # docker-py's streaming calls keep the answer to themselves: nothing could close it from another thread.
    send = api._post if method == "POST" else api._get
    kwargs: dict[str, Any] = {"params": params, "stream": True, "timeout": begin_within}
    if data is not None:
        kwargs["data"] = data
    if headers is not None:
        kwargs["headers"] = dict(headers)
    response = send(api._url(path, *args), **kwargs)
    try:
        api._raise_for_status(response)  # the same APIError (NotFound, ...) docker-py's own calls raise
        if begin_within is not None:
            api._disable_socket_timeout(api._get_raw_response_socket(response))
    except BaseException:
        response.close()
        raise
    return response


def get_json(api: docker.APIClient, path: str, *args: str, params: Mapping[str, Any] | None = None) -> Any:
    """One GET of an endpoint docker-py has no call for (libpod's), decoded; errors raise as docker-py's do."""
    return api._result(api._get(api._url(path, *args), params=params), json=True)


def json_stream(api: docker.APIClient, response: requests.Response) -> Iterator[Any]:
    """The JSON documents of a streamed answer (events, stats, build progress), however the engine cut them."""
    # docker-py's decoder for these streams is only reachable as a method of the client.
    return api._stream_helper(response, decode=True)


def raw_socket(api: docker.APIClient, response: requests.Response) -> Any:
    """The socket under a streamed answer, with no read timeout: for docker.utils.socket.frames_iter()."""
    # An attached container's output is read off the socket itself, as docker-py's attach() does.
    sock = api._get_raw_response_socket(response)
    api._disable_socket_timeout(sock)
    return sock


def buffered_body(response: requests.Response) -> Any:
    """The connection's buffered reader under a chunked answer (it has read1()), or None when out of reach.

    Read in large pieces, a flood of one-chunk lines costs one short loop turn per chunk, not urllib3's
    decoding of each (as docker-py itself reads attach streams)."""
    # urllib3 keeps its http.client response, and that its buffered reader, private.
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    return fp if response.raw.chunked and fp is not None and hasattr(fp, "read1") else None


def connection_fd(response: requests.Response) -> int | None:
    """The socket under a streamed answer, to see whether more is waiting on it; None when out of reach."""
    # urllib3 offers no public way to the connection of a response being streamed.
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    try:
        return fp.fileno() if fp is not None else None
    except (AttributeError, OSError, ValueError):
        return None


def add_registry_auth(api: docker.APIClient, headers: dict[str, str]) -> None:
    """Registry credentials for a build's FROM, as `docker build` sends them (none when there are none)."""
    # docker-py's build() does this, but gives no way to keep its answer to close it on cancel.
    with contextlib.suppress(Exception):
        api._set_auth_headers(headers)


def close_stream(response: requests.Response) -> None:
    """End a streamed answer, from any thread: its socket is shut, so a reader blocked on it wakes up at once
    and the engine sees the client go and stops the work. Never raises."""
    # As docker.types.CancellableStream.close does: closing the response alone would wait for the reader.
    try:
        fp = response.raw._fp.fp
        if hasattr(fp, "raw"):
            raw = fp.raw
            sock = raw.sock if hasattr(raw, "sock") else raw._sock
        else:
            sock = fp._sock
        sock = getattr(sock, "socket", sock)  # pyOpenSSL wraps the real socket
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    except (AttributeError, OSError):
        with contextlib.suppress(Exception):
            response.close()


class Stream(Iterator[Any]):
    """The items read from a streamed answer, and the way to end it: iterate in one thread, close() from any.

    A connection cut under the reader (close(), the engine going) ends the iteration quietly."""

    def __init__(self, items: Iterable[Any], response: requests.Response) -> None:
        self._items = iter(items)
        self.response = response

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._items)
        except (urllib3.exceptions.ProtocolError, OSError):
            raise StopIteration from None

    def close(self) -> None:
        close_stream(self.response)
