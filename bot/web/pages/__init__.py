"""Result pages in the browser: ``/p/<job id>?exp=…&sig=…``, a signed, expiring link per job.

A page is rendered on the server from the job's row and its published result files
(Jinja2 templates, autoescaped) and uses two small scripts served from
``/static/pages/``: no CDN, no front-end build. Files on a page are reached through
the same signed ``/dl/`` links chat replies carry.
"""

from __future__ import annotations

from bot.web.pages.feature import pages_feature

__all__ = ["pages_feature"]
