"""Helpers for the staff API tests."""
from __future__ import annotations

import re

import httpx

PASSWORD = "correct horse 42"


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Fill the sign-in form like a browser: fetch it, post it with its CSRF token."""
    page = await client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await client.post("/signin", data={"username": username, "password": password, "csrf_token": token,
                                              "next": "/"})


def csrf_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
