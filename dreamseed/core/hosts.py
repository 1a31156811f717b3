"""Building links that cross from one host to another (public site <-> a school)."""


def url_on_host(request, host: str, path: str) -> str:
    """Absolute URL of `path` on `host`, keeping this request's scheme and port.

    In development every host is served by one process on :8000, so a link from
    localhost:8000 to a school must keep the port; in production both are on 443.
    """
    secure = request.is_secure()
    port = request.get_port()
    netloc = host if port == ("443" if secure else "80") else f"{host}:{port}"
    return f"{'https' if secure else 'http'}://{netloc}{path}"
