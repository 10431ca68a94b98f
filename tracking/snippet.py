"""The first-party page snippet: `GET /t.js` (tracking/static/t.js) and the `<script>` tag a site
pastes (`cli.py snippet`).

The script sends page views and `nurture.identify(...)` to the Segment-style `/v1/page` and
`/v1/identify` endpoints with a public write key in the message body (as Segment's analytics.js
does from browsers, so no CORS preflight is needed), and only after the site called
`nurture.consent([...])` with the purpose the tag names (a purpose of journeys/consent.yaml);
never under Global Privacy Control or Do Not Track. Calls made before the script loaded are
queued by the tag's one-line stub.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

SCRIPT_PATH = Path(__file__).resolve().parent / "static" / "t.js"
MAX_SCRIPT_BYTES = 5 * 1024
DEFAULT_PURPOSE = "profiling"
# queues calls made before t.js has loaded (t.js replays them)
STUB = ('window.nurture=window.nurture||{q:[]};["consent","identify","page","track"].forEach(function(m){'
        'nurture[m]=nurture[m]||function(){nurture.q.push([m,arguments])}});')


@lru_cache(maxsize=1)
def script_bytes() -> bytes:
    return SCRIPT_PATH.read_bytes()


async def script(request: Request) -> Response:
    """GET /t.js: the snippet, cacheable for an hour (no cookies, nothing personal in it)."""
    return Response(script_bytes(), media_type="text/javascript; charset=utf-8", headers={
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
    })


def script_tag(public_url: str, write_key: str, purpose: str = DEFAULT_PURPOSE) -> str:
    """The HTML to paste before `</head>`: the stub, then t.js with the write key and purpose."""
    src = public_url.rstrip("/") + "/t.js"
    return (f"<script>{STUB}</script>\n"
            f'<script async src="{escape(src)}" data-write-key="{escape(write_key)}" '
            f'data-purpose="{escape(purpose)}"></script>')
